// Messages the domain raises, in English (the API's default) and Japanese: one catalogue below both the
// API and the pages, so that an error reads the same wherever it is shown. Kept apart from the pages'
// own dictionary (src/web/i18n), which holds what only a page says.

/** The languages Azusa speaks. */
export const langs = ["ja", "en"] as const;
export type Lang = (typeof langs)[number];

export const isLang = (value: unknown): value is Lang => langs.includes(value as Lang);

/**
 * A value filled into a message: plain, another message (translated too), a moment shown in the reader's zone
 * (else in the zone the moment was given in, else Asia/Tokyo),
 * or a stable code (a state, a role) that English says as the code and other languages as its message.
 */
export type Param =
  | string
  | number
  | Text
  | { moment: string; zone?: string }
  | { code: string; text: Param }
  | Param[];

/** A message to show: a catalogue key and the values of its `{name}` placeholders. */
export interface Text {
  key: MessageId;
  params?: Record<string, Param>;
}

/** The catalogue: each message in both languages with the same placeholders (src/kernel/messages.test.ts). */
export const catalogue = {
  // Names of fields, used where a message names what was wrong: one label per field path (`fieldName`); a WBS
  // column reads the same but for the title, which a WBS calls 作業名 (`wbsField`).
  "field.id": { en: "id", ja: "WBS番号" },
  "field.title": { en: "title", ja: "タイトル" },
  "field.wbs.title": { en: "title", ja: "作業名" },
  "field.parent": { en: "parent", ja: "親WBS" },
  "field.skills": { en: "skills", ja: "必要スキル" },
  "field.estimate": { en: "estimate", ja: "見積工数" },
  "field.estimateHours": { en: "estimateHours", ja: "見積工数" },
  "field.dependsOn": { en: "dependsOn", ja: "先行作業" },
  "field.acceptance": { en: "acceptance", ja: "受入基準" },
  "field.acceptanceCriteria": { en: "acceptanceCriteria", ja: "受入基準" },
  "field.template": { en: "template", ja: "テンプレート" },
  "field.children": { en: "children", ja: "子項目" },
  "field.file": { en: "file", ja: "ファイル" },
  "field.start": { en: "start", ja: "開始" },
  "field.end": { en: "end", ja: "終了" },
  "field.date": { en: "date", ja: "作業日" },
  "field.minutes": { en: "minutes", ja: "作業時間（分）" },
  "field.timeZone": { en: "timeZone", ja: "タイムゾーン" },
  "field.packageId": { en: "packageId", ja: "作業パッケージ" },
  "field.email": { en: "email", ja: "メールアドレス" },
  "field.role": { en: "role", ja: "役割" },
  "field.tenantId": { en: "tenantId", ja: "テナント" },
  "field.token": { en: "token", ja: "招待トークン" },
  "field.name": { en: "name", ja: "氏名" },
  "field.password": { en: "password", ja: "パスワード" },
  "field.reason": { en: "reason", ja: "理由" },
  "field.reasons": { en: "reasons", ja: "差し戻しの理由" },
  "field.body": { en: "body", ja: "本文" },
  "field.branch": { en: "branch", ja: "ブランチ" },
  "field.month": { en: "month", ja: "月" },
  "field.scale": { en: "scale", ja: "表示単位" },
  "field.kind": { en: "kind", ja: "種類" },
  "field.issuedOn": { en: "issuedOn", ja: "発行日" },
  "field.expiresOn": { en: "expiresOn", ja: "有効期限" },
  "field.path": { en: "path", ja: "パス" },
  "field.content": { en: "content", ja: "内容" },
  "field.weeklyCapacityHours": { en: "weeklyCapacityHours", ja: "稼働可能時間（週）" },
  "field.invoiceNumber": { en: "invoiceNumber", ja: "適格請求書発行事業者登録番号" },
  "field.client": { en: "client", ja: "発注者" },
  "field.type": { en: "type", ja: "契約形態" },
  "field.confidentiality": { en: "confidentiality", ja: "機密区分" },
  "field.budgetYen": { en: "budgetYen", ja: "予算" },
  "field.periodStart": { en: "periodStart", ja: "開始日" },
  "field.periodEnd": { en: "periodEnd", ja: "終了日" },
  "field.leadIds": { en: "leadIds", ja: "リーダー" },
  "field.band": { en: "band", ja: "月間精算幅" },
  "field.maxPackageHours": { en: "maxPackageHours", ja: "パッケージ上限" },
  "field.largestPackageHours": { en: "largestPackageHours", ja: "希望するパッケージの上限" },

  // States named inside messages.
  "state.draft": { en: "draft", ja: "下書き" },
  "state.open": { en: "open", ja: "募集中" },
  "state.offered": { en: "offered", ja: "オファー中" },
  "state.assigned": { en: "assigned", ja: "アサイン済み" },
  "state.in_progress": { en: "in progress", ja: "作業中" },
  "state.in_review": { en: "in review", ja: "レビュー中" },
  "state.changes_requested": { en: "changes requested", ja: "修正依頼" },
  "state.delivered": { en: "delivered", ja: "納品済み" },
  "state.accepted": { en: "accepted", ja: "検収済み" },
  "state.cancelled": { en: "cancelled", ja: "取消" },

  // Validation of what was sent.
  "issue.required": { en: "required", ja: "入力してください" },
  // What a name or a title may not hold (kernel/text.ts).
  "name.control": {
    en: "must not contain control characters ({char})",
    ja: "制御文字（{char}）は使えません",
  },
  "name.surrogate": {
    en: "must not contain an unpaired surrogate ({char})",
    ja: "対になっていないサロゲート（{char}）は使えません",
  },
  "name.bidi": {
    en: "must not contain bidirectional controls ({char})",
    ja: "文字の向きを変える制御文字（{char}）は使えません",
  },
  "name.blank": {
    en: "must not be empty or only invisible characters",
    ja: "空白や見えない文字だけにはできません",
  },
  "issue.type": { en: "expected {expected}", ja: "{expected}で入力してください" },
  "issue.shortString": { en: "must be at least {n} characters", ja: "{n} 文字以上で入力してください" },
  "issue.longString": { en: "must be at most {n} characters", ja: "{n} 文字以内で入力してください" },
  "issue.fewItems": { en: "must have at least {n} items", ja: "{n} 件以上が必要です" },
  "issue.manyItems": { en: "must have at most {n} items", ja: "{n} 件までです" },
  "issue.between": { en: "between {min} and {max} characters", ja: "{min}〜{max} 文字で入力してください" },
  "issue.small": { en: "must be at least {n}", ja: "{n} 以上にしてください" },
  "issue.big": { en: "must be at most {n}", ja: "{n} 以下にしてください" },
  "issue.format": { en: "is not a valid {format}", ja: "{format}の形式が正しくありません" },
  "issue.choose": { en: "choose one of the options", ja: "選択肢から選んでください" },
  "issue.oneOf": { en: "must be one of {values}", ja: "{values} のいずれかにしてください" },
  "issue.unknownField": { en: "unknown field", ja: "この項目は受け付けていません" },
  "issue.invalid": { en: "is not valid", ja: "正しくありません" },
  "issue.timeZone": { en: "not a known time zone", ja: "タイムゾーン名として読めません（例: Asia/Tokyo）" },
  "issue.summary": { en: "invalid {target}: {problems}", ja: "送信内容（{target}）を確認してください: {problems}" },
  "issue.problem": { en: "{field}: {message}", ja: "{field}: {message}" },
  "type.number": { en: "a number", ja: "数値" },
  "type.string": { en: "text", ja: "文字列" },
  "type.boolean": { en: "true or false", ja: "はい・いいえ" },
  "type.array": { en: "a list", ja: "一覧" },
  "type.object": { en: "an object", ja: "オブジェクト" },
  "format.email": { en: "e-mail address", ja: "メールアドレス" },
  "format.date": { en: "date (YYYY-MM-DD)", ja: "日付（YYYY-MM-DD）" },
  "format.datetime": { en: "date and time", ja: "日時" },
  "format.uuid": { en: "id", ja: "ID" },
  "format.url": { en: "URL", ja: "URL" },
  "format.pattern": { en: "value", ja: "値" },

  // Errors every layer can give.
  "error.notFound": { en: "{what} not found", ja: "{what}が見つかりません" },
  "error.forbidden": { en: "you may not do this", ja: "この操作は許可されていません" },
  "error.signIn": { en: "sign in first", ja: "先にサインインしてください" },
  "error.internal": { en: "internal error", ja: "内部エラーが発生しました" },
  "error.tooLarge": { en: "request body is too large", ja: "送信された内容が大きすぎます" },
  "error.csrf": {
    en: "the form token is missing or belongs to another session",
    ja: "フォームの有効期限が切れたか、別のセッションのものです",
  },
  "what.page": { en: "page", ja: "ページ" },
  "what.mail": { en: "e-mail", ja: "メール" },
  "what.contract": { en: "contract", ja: "契約" },
  "what.package": { en: "package", ja: "作業パッケージ" },
  "what.offer": { en: "offer", ja: "オファー" },
  "what.engineer": { en: "engineer", ja: "エンジニア" },
  "what.workspace": { en: "workspace", ja: "ワークスペース" },
  "what.pull": { en: "pull request", ja: "プルリクエスト" },
  "what.delivery": { en: "delivery", ja: "納品" },
  "what.timesheet": { en: "timesheet", ja: "タイムシート" },
  "what.entry": { en: "time entry", ja: "作業時間の記録" },
  "what.invitation": { en: "invitation", ja: "招待" },
  "what.notification": { en: "notification", ja: "通知" },
  "what.session": { en: "session", ja: "セッション" },
  "what.recording": { en: "recording", ja: "セッション記録" },
  "what.file": { en: "file", ja: "ファイル" },
  "what.taskBatch": { en: "task batch", ja: "タスクバッチ" },
  "what.apiKey": { en: "API key", ja: "API キー" },
  "what.githubSettings": { en: "GitHub settings", ja: "GitHub の設定" },
  "what.sshKey": { en: "SSH key", ja: "SSH 鍵" },
  "what.asset": { en: "asset", ja: "ファイル" },
  "what.assignment": { en: "assignment", ja: "アサイン" },
  "what.member": { en: "member", ja: "メンバー" },
  "what.office": { en: "office", ja: "オフィス" },
  "what.guideSection": { en: "guide section", ja: "ガイドの項目" },
  "what.interest": { en: "interest registration", ja: "関心登録" },
  "what.repository": { en: "repository", ja: "リポジトリ" },
  "what.tenant": { en: "tenant", ja: "テナント" },
  "what.user": { en: "user", ja: "ユーザー" },
  "what.webhook": { en: "webhook", ja: "Webhook" },
  "what.taskItem": { en: "task item", ja: "タスク項目" },
  "what.taskAdjudicator": { en: "adjudicator grant", ja: "判定の権限" },

  // Task entry: why a keyed value was refused (the stable code in brackets, as the API reports it).
  "task.refusal.required": { en: "required (required)", ja: "入力してください（required）" },
  "task.refusal.format": { en: "not in the expected form (format)", ja: "形式が正しくありません（format）" },
  "task.refusal.check_digit": {
    en: "the check digit does not match (check_digit)",
    ja: "検査用数字が一致しません（check_digit）",
  },
  "task.refusal.out_of_range": { en: "out of range (out_of_range)", ja: "範囲外です（out_of_range）" },
  "task.refusal.no_such_date": { en: "no such date (no_such_date)", ja: "存在しない日付です（no_such_date）" },
  "task.refusal.not_a_choice": {
    en: "not one of the choices (not_a_choice)",
    ja: "選択肢にありません（not_a_choice）",
  },
  "task.refusal.too_long": { en: "too long (too_long)", ja: "長すぎます（too_long）" },
  "task.notAField": { en: "not a field of the batch", ja: "このバッチの項目ではありません" },

  // The WBS and its packages.
  "wbs.cycle": {
    en: "dependency cycle: {cycle} (each depends on the next)",
    ja: "先行作業が循環しています: {cycle}（それぞれが次の作業を先行作業にしています）",
  },
  "wbs.cycleField": { en: "cycle {cycle}", ja: "循環 {cycle}" },
  "wbs.packageLive": {
    en: "package {wbsId} is {state}: edit the packages instead of importing again",
    ja: "作業パッケージ {wbsId} は{state}です。取り込み直さずに、パッケージを個別に編集してください",
  },
  "wbs.packageOffered": {
    en: "package {wbsId} has been offered: edit the packages instead of importing again",
    ja: "作業パッケージ {wbsId} はオファー済みです。取り込み直さずに、パッケージを個別に編集してください",
  },
  "wbs.skillNoName": { en: '"{written}" has no skill name', ja: "「{written}」にスキル名がありません" },
  "wbs.skillNoLevel": {
    en: '"{written}" has no level; write it as {name}:3 (ITSS level 1 to 7)',
    ja: "「{written}」にレベルがありません。{name}:3 のように書いてください（ITSS レベル 1〜7）",
  },
  "wbs.skillBadLevel": {
    en: '"{written}" has level "{level}"; ITSS levels are 1 to 7',
    ja: "「{written}」のレベル「{level}」は使えません。ITSS レベルは 1〜7 です",
  },
  "wbs.skillNoSkill": { en: '{value} has no "skill"', ja: '{value} に "skill" がありません' },
  "wbs.notASkill": {
    en: '{value} is not a skill; write it as "java:3"',
    ja: '{value} はスキルとして読めません。"java:3" のように書いてください',
  },
  "wbs.notSkills": {
    en: '{value} is not a list of skills; write it as "java:4; sql:3"',
    ja: '{value} はスキルの一覧として読めません。"java:4; sql:3" のように書いてください',
  },
  "wbs.notHours": { en: "is not a number of hours", ja: "は時間数として読めません" },
  "wbs.hoursNotPositive": { en: "must be more than 0 hours", ja: "は 0 時間より多くしてください" },
  "wbs.hoursTooMany": {
    en: "is more than {max} hours; split the item",
    ja: "は {max} 時間を超えています。項目を分割してください",
  },
  "wbs.quoted": { en: '{label} "{value}" {message}', ja: "{label}「{value}」{message}" },
  "wbs.labelled": { en: "{label} {message}", ja: "{label}: {message}" },
  "wbs.more": { en: "… and {more} more problems", ja: "…ほか {more} 件の問題があります" },
  "wbs.moreOne": { en: "… and {more} more problem", ja: "…ほか {more} 件の問題があります" },
  "wbs.fileEmpty": { en: "the file is empty", ja: "ファイルが空です" },
  "wbs.unreadableXlsx": {
    en: "could not read the spreadsheet; open it in Excel and save it again as .xlsx",
    ja: "スプレッドシートを読み込めませんでした。Excel で開き、.xlsx として保存し直してください",
  },
  "wbs.xlsxEntries": {
    en: "the workbook holds {entries} parts; an .xlsx may hold at most {max}",
    ja: "ブックに {entries} 個のパーツがあります。.xlsx に入れられるのは {max} 個までです",
  },
  "wbs.xlsxEntryTooLarge": {
    en: "the workbook's part {name} unpacks to more than {max}, the most one part of an .xlsx may unpack to",
    ja: "ブックのパーツ {name} は展開すると .xlsx の 1 パーツの上限 {max} を超えます",
  },
  "wbs.xlsxTooLarge": {
    en: "the workbook unpacks to more than {max}, the most an .xlsx may unpack to in all",
    ja: "ブックは展開すると .xlsx の展開後の合計の上限 {max} を超えます",
  },
  "wbs.xlsxRatio": {
    en: "the workbook's part {name} unpacks to more than {ratio} times its packed size, the most an .xlsx part may",
    ja: "ブックのパーツ {name} は圧縮時の {ratio} 倍（.xlsx のパーツの上限）を超えて展開されます",
  },
  "wbs.notXlsx": {
    en: "could not read the spreadsheet: the file is not an .xlsx workbook",
    ja: "スプレッドシートを読み込めませんでした: .xlsx ブックではありません",
  },
  "wbs.noSheets": {
    en: "the file is empty: the workbook has no sheets",
    ja: "ファイルが空です: ブックにシートがありません",
  },
  "wbs.encoding": {
    en: "the file is neither UTF-8 nor Shift_JIS (CP932); save it as UTF-8",
    ja: "ファイルが UTF-8 でも Shift_JIS（CP932）でもありません。UTF-8 で保存してください",
  },
  "wbs.encodingCsv": {
    en: "the file is neither UTF-8 nor Shift_JIS (CP932); save it as UTF-8 CSV",
    ja: "ファイルが UTF-8 でも Shift_JIS（CP932）でもありません。CSV UTF-8 で保存してください",
  },
  "wbs.sameColumn": {
    en: 'columns "{a}" and "{b}" both mean {field}; keep one',
    ja: "列「{a}」と「{b}」はどちらも{field}です。どちらか一つにしてください",
  },
  "wbs.sameKey": {
    en: 'keys "{a}" and "{b}" both mean {field}; keep one',
    ja: "キー「{a}」と「{b}」はどちらも{field}です。どちらか一つにしてください",
  },
  "wbs.noColumn": {
    en: "no {field} column (such as {examples}); the header row has: {found}",
    ja: "{field}の列（{examples} など）がありません。見出し行にあるのは: {found}",
  },
  "wbs.noIdKey": {
    en: "no item has an {field} key (such as {examples}); the keys found are: {found}",
    ja: "{field}のキー（{examples} など）を持つ項目がありません。見つかったキー: {found}",
  },
  "wbs.noKey": {
    en: "no item has a {field} key (such as {examples}); the keys found are: {found}",
    ja: "{field}のキー（{examples} など）を持つ項目がありません。見つかったキー: {found}",
  },
  "wbs.noRows": { en: "no WBS rows after the header", ja: "見出し行の後に WBS の行がありません" },
  "wbs.noItems": { en: "no WBS items in the file", ja: "ファイルに WBS の項目がありません" },
  "wbs.cellCount": {
    en: 'this row has {cells} cells but the header has {header}; a value containing the delimiter needs "quotes"',
    ja: 'この行のセルは {cells} 個ですが、見出しは {header} 個です。区切り文字を含む値は "引用符" で囲んでください',
  },
  "wbs.notAList": {
    en: 'expected a list of WBS items, or an object with an "items" list',
    ja: 'WBS 項目の一覧、または "items" に一覧を持つオブジェクトが必要です',
  },
  "wbs.notAnItem": {
    en: "item {row} is not an object with an id and a title",
    ja: "項目 {row} は番号と作業名を持つオブジェクトではありません",
  },
  "wbs.childrenNotList": { en: "children must be a list of items", ja: "children は項目の一覧にしてください" },
  "wbs.tooDeep": { en: "items are nested more than {max} levels deep", ja: "項目の入れ子が {max} 階層を超えています" },
  "wbs.unreadableCell": { en: "{label}: {reason}", ja: "{label}: {reason}" },
  "wbs.excelDate": {
    en: "Excel turned {label} into the date {date}; format the column as text and retype it",
    ja: "Excel が{label}を日付 {date} に変えています。列の書式を文字列にして入力し直してください",
  },
  "wbs.notAString": {
    en: "{label} must be a string, not a list or object",
    ja: "{label}は一覧やオブジェクトではなく文字列にしてください",
  },
  "wbs.notText": {
    en: "{label} must be text, not a list or object",
    ja: "{label}は一覧やオブジェクトではなく文字にしてください",
  },
  "wbs.empty": { en: "{label} is empty", ja: "{label}が空です" },
  "wbs.idTooLong": { en: '{label} "{id}" is longer than 64 characters', ja: "{label}「{id}」が 64 文字を超えています" },
  "wbs.idSeparator": {
    en: '{label} "{id}" contains a space or a separator (, ; 、)',
    ja: "{label}「{id}」に空白または区切り文字（, ; 、）が含まれています",
  },
  "wbs.titleTooLong": {
    en: "{label} is longer than 200 characters ({length})",
    ja: "{label}が 200 文字を超えています（{length} 文字）",
  },
  "wbs.parentDisagrees": {
    en: '{label} "{parent}" disagrees with the enclosing item "{enclosing}"',
    ja: "{label}「{parent}」が、囲んでいる項目「{enclosing}」と一致しません",
  },
  "wbs.idUsedRow": {
    en: '{label} "{id}" is already used on row {row}',
    ja: "{label}「{id}」は {row} 行目ですでに使われています",
  },
  "wbs.idUsedItem": {
    en: '{label} "{id}" is already used on item {row}',
    ja: "{label}「{id}」は項目 {row} ですでに使われています",
  },
  "wbs.ownParent": { en: "{label}: an item cannot be its own parent", ja: "{label}: 自分自身を親にはできません" },
  "wbs.ownDependency": {
    en: "{label}: an item cannot depend on itself",
    ja: "{label}: 自分自身を先行作業にはできません",
  },
  "wbs.unknownId": {
    en: '{label} "{id}" is not an id in this file',
    ja: "{label}「{id}」はこのファイルにない番号です",
  },
  "wbs.parentLoop": { en: "{label} makes a loop: {ids}", ja: "{label}が循環しています: {ids}" },
  "wbs.tooLarge": {
    en: "the WBS file is larger than {bytes} bytes",
    ja: "WBS ファイルが {bytes} バイトを超えています",
  },

  // Pull requests.
  "pulls.noBranch": {
    en: `no branch "{branch}" in the workspace's fork; push it to origin first`,
    ja: "ワークスペースのフォークにブランチ「{branch}」がありません。先に origin へ push してください",
  },
  "pulls.noNewCommits": {
    en: `"{branch}" has no commits that {base} lacks`,
    ja: "ブランチ「{branch}」には {base} にないコミットがありません",
  },
  "pulls.pathUnchanged": {
    en: `"{path}" is not changed by this pull request`,
    ja: "「{path}」はこのプルリクエストで変更されていません",
  },
  "pulls.lineNotInDiff": {
    en: "line {line} of {path} is not in the diff",
    ja: "{path} の {line} 行目は差分に含まれていません",
  },
  "pulls.sayWhat": { en: "say what should change", ja: "何を修正すべきかを書いてください" },

  // Offices and engineers' availability.
  "offices.nameTaken": {
    en: 'an office named "{name}" already exists',
    ja: "「{name}」という名前のオフィスはすでにあります",
  },
  "availability.time": {
    en: "must be a time HH:MM between 00:00 and 24:00",
    ja: "00:00〜24:00 の時刻（HH:MM）で入力してください",
  },
  "availability.manyWindows": { en: "at most {n} windows", ja: "時間帯は {n} 件までです" },
  "availability.manyExceptions": { en: "at most {n} exceptions", ja: "例外は {n} 件までです" },
  "availability.manyRows": { en: "at most {n} rows", ja: "{n} 行までです" },
  "availability.endBeforeStart": { en: "must be after start", ja: "開始より後にしてください" },
  "availability.overlap": {
    en: "overlaps another window of the same day",
    ja: "同じ曜日の別の時間帯と重なっています",
  },
  "availability.date": { en: "must be a date YYYY-MM-DD", ja: "日付（YYYY-MM-DD）で入力してください" },
  "availability.largestPackage": {
    en: "must be a number of hours above 0 and at most {max}, or empty for any size",
    ja: "0 より大きく {max} 以下の時間数にしてください（空欄は上限なし）",
  },
  "availability.toBeforeFrom": { en: "must not be before from", ja: "開始日より前にはできません" },

  // Hours, timesheets and months.
  "hours.overlaps": {
    en: "overlaps your entry {entryId} from {start} to {end}",
    ja: "{start}〜{end} の記録（{entryId}）と時間が重なっています",
  },
  "hours.overlapsField": { en: "overlaps entry {entryId}", ja: "記録 {entryId} と重なっています" },
  "month.notOver": { en: "{month} is not over yet", ja: "{month} はまだ終わっていません" },
  "month.closedAlready": { en: "{month} is closed already", ja: "{month} はすでに締めています" },

  // Contracts, their source repository and tenants.
  "contracts.officeRuleEmpty": {
    en: "name at least one office or prefecture, or leave the office rule out",
    ja: "オフィスか都道府県を一つ以上指定してください（指定しない場合はオフィス指定を外してください）",
  },
  "contracts.officeUnknown": { en: "no office {id}", ja: "オフィス {id} はありません" },
  "contracts.notCidr": {
    en: '"{cidr}" is not a CIDR block such as 192.0.2.0/24',
    ja: "「{cidr}」は CIDR 表記（例: 192.0.2.0/24）として読めません",
  },
  "contracts.endBeforeStart": { en: "must not be before periodStart", ja: "開始日より前にはできません" },
  "contracts.bandNeeded": {
    en: "a 準委任 (juninin) contract needs its monthly hours band",
    ja: "準委任契約には月間精算幅が必要です",
  },
  "contracts.bandUkeoi": {
    en: "a 請負 (ukeoi) contract is paid per deliverable and has no hours band",
    ja: "請負契約は成果物ごとの支払いのため、月間精算幅は設定できません",
  },
  "contracts.bandOrder": { en: "must be above band.minHours", ja: "精算幅の下限より大きくしてください" },
  "contracts.notLeads": { en: "not a lead of this tenant: {ids}", ja: "このテナントのリーダーではありません: {ids}" },
  "contracts.contractorOnly": {
    en: "only a contractor of the tenant manages its contracts",
    ja: "契約を管理できるのは、そのテナントの元請担当だけです",
  },
  "source.noImportDir": {
    en: "no import folder is set (AZUSA_GIT_IMPORT_DIR); a contract cannot name a source",
    ja: "取り込みフォルダ（AZUSA_GIT_IMPORT_DIR）が設定されていないため、契約にソースリポジトリを指定できません",
  },
  "source.network": {
    en: "network addresses are never fetched; name a repository in the tenant's import folder",
    ja: "ネットワーク上のアドレスからは取得しません。テナントの取り込みフォルダにあるリポジトリを指定してください",
  },
  "source.notFileUrl": { en: "not a file:/// address", ja: "file:/// のアドレスとして読めません" },
  "source.notPath": { en: "not a path", ja: "パスとして読めません" },
  "source.outside": {
    en: "must name a repository inside the tenant's import folder",
    ja: "テナントの取り込みフォルダ内のリポジトリを指定してください",
  },
  "source.noTenantDir": {
    en: "this tenant has no import folder yet; an operator puts the client's repository there first",
    ja: "このテナントにはまだ取り込みフォルダがありません。先に運用担当が発注者のリポジトリを置いてください",
  },
  "source.noRepository": {
    en: "no repository at this path in the tenant's import folder",
    ja: "テナントの取り込みフォルダのこのパスにはリポジトリがありません",
  },
  "source.linkOutside": {
    en: "must name a repository inside the tenant's import folder (a link leads out of it)",
    ja: "テナントの取り込みフォルダ内のリポジトリを指定してください（リンクがフォルダの外を指しています）",
  },
  "source.notFolder": {
    en: "not a repository (not a folder)",
    ja: "リポジトリではありません（フォルダではありません）",
  },
  "source.noCommit": { en: "not a Git repository with a commit", ja: "コミットのある Git リポジトリではありません" },
  "wbs.noFileField": {
    en: "send the WBS as the `file` field of the form",
    ja: "WBS はフォームの file 項目として送信してください",
  },
  "tenants.operatorsOnly": { en: "only operators create tenants", ja: "テナントを作成できるのは運用担当だけです" },
  "tenants.nameTaken": {
    en: 'a tenant named "{name}" already exists',
    ja: "「{name}」という名前のテナントはすでにあります",
  },
  "tenants.notForEngineers": { en: "engineers do not list tenants", ja: "エンジニアはテナントの一覧を見られません" },

  // Roles named inside messages.
  "role.operator": { en: "operator", ja: "運用担当" },
  "role.contractor": { en: "contractor", ja: "元請担当" },
  "role.lead": { en: "lead", ja: "リーダー" },
  "role.engineer": { en: "engineer", ja: "エンジニア" },

  // Packages.
  "packages.leadOnly": {
    en: "only the contract's lead edits packages",
    ja: "パッケージを編集できるのは契約のリーダーだけです",
  },
  "packages.notEditable": {
    en: "package is {state}: it can be changed only while draft or open",
    ja: "作業パッケージは{state}です。変更できるのは下書きか募集中の間だけです",
  },
  "packages.movedMeanwhile": {
    en: "the package changed state meanwhile; read it again",
    ja: "その間に作業パッケージの状態が変わりました。読み込み直してください",
  },
  "packages.splitTwo": { en: "a split needs at least two parts", ja: "分割には 2 つ以上の部分が必要です" },
  "packages.mergeTwo": { en: "a merge needs at least two packages", ja: "統合には 2 つ以上の作業パッケージが必要です" },
  "packages.atLeastTwo": { en: "at least two", ja: "2 つ以上が必要です" },
  "packages.mergeContracts": {
    en: "packages of different contracts cannot be merged",
    ja: "別々の契約の作業パッケージは統合できません",
  },
  "packages.oneContract": { en: "one contract only", ja: "一つの契約のものだけにしてください" },
  "packages.roleCannotMove": {
    en: "a {role} cannot move a package to {state}",
    ja: "{role}は作業パッケージを{state}にできません",
  },
  "packages.onlyDraftOpens": {
    en: "package is {state}: only a draft opens; to take an offered or assigned package back, withdraw it",
    ja: "作業パッケージは{state}です。募集を始められるのは下書きだけです。オファー中やアサイン済みのものは取り下げてください",
  },
  "packages.dependsOnCancelled": {
    en: "package cannot open: it depends on cancelled {ids}; change its dependencies first",
    ja: "募集を始められません: 取消済みの {ids} を先行作業にしています。先に先行作業を変更してください",
  },
  "packages.stateNow": {
    en: "the package is {state} now, not {from}; read it again",
    ja: "作業パッケージは今は{from}ではなく{state}です。読み込み直してください",
  },
  "packages.ownDependency": { en: "a package cannot depend on itself", ja: "自分自身を先行作業にはできません" },
  "packages.foreignDependencies": {
    en: "not packages of this contract: {ids}",
    ja: "この契約の作業パッケージではありません: {ids}",
  },
  "packages.canMoveTo": { en: "it can move to {states}", ja: "移せるのは {states} です" },
  "packages.final": { en: "it is final", ja: "これ以上は変わりません" },
  "packages.cannotMove": {
    en: "package is {state}: it cannot move to {to} ({allowed})",
    ja: "作業パッケージは{state}のため、{to}にはできません（{allowed}）",
  },

  // Engineers and their keys.
  "engineers.noProfile": {
    en: "this engineer has no profile yet; an operator records it first",
    ja: "このエンジニアのプロフィールはまだありません。先に運用担当が登録してください",
  },
  "engineers.operatorsList": {
    en: "only operators list engineers",
    ja: "エンジニアの一覧を見られるのは運用担当だけです",
  },
  "engineers.operatorsKeep": {
    en: "only operators keep engineer profiles",
    ja: "エンジニアのプロフィールを管理できるのは運用担当だけです",
  },
  "engineers.leadVettingKind": {
    en: "a lead holds only my_number vetting (for deciding task batches with individual numbers)",
    ja: "リーダーに記録できる審査は my_number（個人番号を含む入力作業の判定）だけです",
  },
  "engineers.operatorsVet": { en: "only operators record vetting", ja: "審査を記録できるのは運用担当だけです" },
  "engineers.expiresBeforeIssued": { en: "must not be before issuedOn", ja: "発行日より前にはできません" },
  "keys.yours": {
    en: "{fingerprint}: you already registered this key",
    ja: "{fingerprint}: この鍵はすでに登録済みです",
  },
  "keys.another": {
    en: "{fingerprint}: this key is registered to another engineer",
    ja: "{fingerprint}: この鍵は別のエンジニアが登録しています",
  },
  "keys.paste": {
    en: "paste the one line of your public key file, e.g. ~/.ssh/id_ed25519.pub",
    ja: "公開鍵ファイル（例: ~/.ssh/id_ed25519.pub）の 1 行を貼り付けてください",
  },
  "keys.tooLarge": {
    en: "the input is larger than 16 KiB, far more than a public key: {paste}",
    ja: "入力が 16 KiB を超えており、公開鍵としては大きすぎます。{paste}",
  },
  "keys.none": { en: "no key given: {paste}", ja: "鍵が入力されていません。{paste}" },
  "keys.private": {
    en: "this is a PRIVATE key, which must never leave your computer: paste the PUBLIC key instead, the .pub file next to it (e.g. ~/.ssh/id_ed25519.pub)",
    ja: "これは秘密鍵です。秘密鍵はお使いのコンピューターから出さないでください。代わりに、隣にある .pub ファイル（例: ~/.ssh/id_ed25519.pub）の公開鍵を貼り付けてください",
  },
  "keys.putty": {
    en: 'this is a PuTTY key file (.ppk), which holds your private key: open it in PuTTYgen and paste the text shown under "Public key for pasting into OpenSSH authorized_keys file"',
    ja: "これは秘密鍵を含む PuTTY の鍵ファイル（.ppk）です。PuTTYgen で開き、「Public key for pasting into OpenSSH authorized_keys file」の下に表示される文字列を貼り付けてください",
  },
  "keys.rfc4716": {
    en: "this key is in the SSH2 (RFC 4716) format: convert it with `ssh-keygen -i -f key.pub` and paste the line it prints",
    ja: "この鍵は SSH2（RFC 4716）形式です。`ssh-keygen -i -f key.pub` で変換し、表示された 1 行を貼り付けてください",
  },
  "keys.control": {
    en: "the key contains control characters: {paste}, as it is",
    ja: "鍵に制御文字が含まれています。{paste}（そのまま貼り付けてください）",
  },
  "keys.several": {
    en: "paste one key at a time: the input holds {n} keys",
    ja: "鍵は 1 つずつ貼り付けてください（入力に {n} 個の鍵があります）",
  },
  "keys.lines": {
    en: "a public key is a single line but the input has {n}: {paste}, without line breaks",
    ja: "公開鍵は 1 行ですが、入力は {n} 行あります。{paste}（改行を入れずに）",
  },
  "keys.dsa": {
    en: "DSA keys are no longer accepted; generate an ed25519 key: ssh-keygen -t ed25519",
    ja: "DSA 鍵は受け付けていません。ed25519 の鍵を作成してください: ssh-keygen -t ed25519",
  },
  "keys.damaged": {
    en: "the key data is damaged or is not a {type} key: copy the whole line from the .pub file again",
    ja: "鍵のデータが壊れているか、{type} の鍵ではありません。.pub ファイルから 1 行全体をコピーし直してください",
  },
  "keys.shortRsa": {
    en: "RSA key of {bits} bits is too short: at least {min} bits (or use ed25519)",
    ja: "{bits} ビットの RSA 鍵は短すぎます。{min} ビット以上にしてください（または ed25519 を使ってください）",
  },
  "keys.options": {
    en: 'the key starts with authorized_keys options (such as from="..." or no-pty): paste the key without options, starting with its type, e.g. ssh-ed25519',
    ja: '鍵の前に authorized_keys のオプション（from="..." や no-pty など）があります。オプションを除き、種類（例: ssh-ed25519）から始まる鍵を貼り付けてください',
  },
  "keys.certificate": {
    en: "this is an SSH certificate, not a public key: paste the .pub file, not the -cert.pub one",
    ja: "これは公開鍵ではなく SSH 証明書です。-cert.pub ではなく .pub ファイルを貼り付けてください",
  },
  "keys.type": {
    en: "{type} keys are not accepted: use ed25519 (ssh-keygen -t ed25519), ECDSA or RSA of 3072+ bits",
    ja: "{type} の鍵は受け付けていません。ed25519（ssh-keygen -t ed25519）、ECDSA、または 3072 ビット以上の RSA を使ってください",
  },
  "keys.notOpenSsh": { en: "not an OpenSSH public key: {paste}", ja: "OpenSSH の公開鍵として読めません。{paste}" },

  // Offices.
  "offices.notByApiKey": { en: "API keys cannot {what}", ja: "API キーでは{what}ことはできません" },
  "offices.adminOnly": { en: "only an office admin can {what}", ja: "{what}ことができるのはオフィス管理者だけです" },
  "offices.toCreate": { en: "create offices", ja: "オフィスを作成する" },
  "offices.toGrant": { en: "grant the office admin capability", ja: "オフィス管理者の権限を与える" },
  "offices.operatorsOnly": { en: "only operators manage offices", ja: "オフィスを管理できるのは運用担当だけです" },
  "offices.ownOnly": {
    en: "operators manage their own office only",
    ja: "運用担当が管理できるのは自分のオフィスだけです",
  },
  "offices.tenantRole": {
    en: "a {role} belongs to a tenant, not to an office",
    ja: "{role}はオフィスではなくテナントに所属します",
  },
  "offices.moveTakesAdmin": {
    en: "moving someone from another office takes an office admin",
    ja: "別のオフィスのメンバーを移せるのはオフィス管理者だけです",
  },
  "interest.invitedAlready": {
    en: "this registration has been invited already",
    ja: "この関心登録はすでに招待済みです",
  },
  "interest.throttled": {
    en: "too many registrations from this address: try again later",
    ja: "このアドレスからの登録が多すぎます。しばらくしてからもう一度お試しください",
  },
  "offices.adminsAreOperators": {
    en: "only operators can be office admins",
    ja: "オフィス管理者になれるのは運用担当だけです",
  },

  // Hours, timesheets and months (continued).
  "month.format": { en: "must be YYYY-MM with a month from 01 to 12", ja: "YYYY-MM（月は 01〜12）で入力してください" },
  "month.closed": {
    en: "{months} is closed: the contractor reopens the month first",
    ja: "{months} は締め済みです。先に元請担当が月を再開してください",
  },
  "month.closedMany": {
    en: "{months} are closed: the contractor reopens the month first",
    ja: "{months} は締め済みです。先に元請担当が月を再開してください",
  },
  "month.contractorCloses": { en: "only a contractor closes a month", ja: "月を締められるのは元請担当だけです" },
  "month.contractorReopens": { en: "only a contractor reopens a month", ja: "月を再開できるのは元請担当だけです" },
  "month.unapproved": {
    en: "hours of {month} are not approved yet: {who}",
    ja: "{month} の作業時間にまだ承認されていないものがあります: {who}",
  },
  "month.sayWhy": { en: "say why the month is reopened", ja: "月を再開する理由を書いてください" },
  "month.notClosed": { en: "{month} is not closed", ja: "{month} は締められていません" },
  "settlements.ukeoi": {
    en: "a 請負 (ukeoi) contract is paid per accepted delivery, not by hours",
    ja: "請負契約は作業時間ではなく、検収された納品ごとに支払われます",
  },
  "settlements.contractorAdjusts": {
    en: "only a contractor adjusts a settlement",
    ja: "精算を調整できるのは元請担当だけです",
  },
  "settlements.jun": {
    en: "only a 準委任 (juninin) month is settled by hours",
    ja: "作業時間で精算するのは準委任契約の月だけです",
  },
  "settlements.notEngineer": { en: "not an engineer of this contract", ja: "この契約のエンジニアではありません" },
  "settlements.closed": {
    en: "{month} is closed: reopen the month to adjust it",
    ja: "{month} は締め済みです。調整するには月を再開してください",
  },
  "time.notDateTime": { en: "is not a valid date and time", ja: "日時として正しくありません" },
  "time.badOffset": { en: "has an offset no zone uses", ja: "どのタイムゾーンも使わない時差が指定されています" },
  "time.notTime": { en: "is not a valid time", ja: "時刻として正しくありません" },
  "time.format": {
    en: "must be YYYY-MM-DDTHH:MM, with or without an offset",
    ja: "YYYY-MM-DDTHH:MM（時差は付けても付けなくても可）で入力してください",
  },
  "time.notDate": { en: "is not a valid date", ja: "日付として正しくありません" },
  "time.skipped": {
    en: "{given} does not exist in {zone} (the clocks skip it)",
    ja: "{given} は {zone} には存在しない時刻です（時計がその時刻を飛ばします）",
  },
  "hours.engineersOnly": {
    en: "only engineers record their own hours",
    ja: "作業時間を記録できるのはエンジニア本人だけです",
  },
  "hours.weekLocked": {
    en: "the timesheet of the week of {week} is {state}: its entries cannot change",
    ja: "{week} の週のタイムシートは{state}のため、記録を変更できません",
  },
  "hours.assignmentEnded": {
    en: "your assignment to this package has ended: hours go only to weeks before {week}",
    ja: "この作業パッケージへのアサインは終了しています。記録できるのは {week} より前の週だけです",
  },
  "hours.dayFull": {
    en: "{day} would hold {hours} hours of your entries: a day has 24",
    ja: "{day} の記録が合計 {hours} になります。1 日は 24 時間です",
  },
  "hours.dayFullField": { en: "{day} would hold more than 24 hours", ja: "{day} の記録が 24 時間を超えます" },
  "hours.engineerSubmits": {
    en: "only the engineer submits their timesheet",
    ja: "タイムシートを提出できるのはエンジニア本人だけです",
  },
  "hours.leadApproves": {
    en: "only a lead of the contract approves, rejects or reopens timesheets",
    ja: "タイムシートの承認・差し戻し・再開ができるのは契約のリーダーだけです",
  },
  "hours.cannotBecome": {
    en: "the timesheet is {state}: it cannot become {to}",
    ja: "タイムシートは{state}のため、{to}にはできません",
  },
  "hours.changedMeanwhile": {
    en: "the timesheet changed meanwhile; read it again",
    ja: "その間にタイムシートが変わりました。読み込み直してください",
  },
  "hours.notZone": { en: "{zone} is not an IANA time zone", ja: "{zone} は IANA のタイムゾーン名ではありません" },
  "hours.startOrDate": {
    en: "give start and end, or date and minutes",
    ja: "開始と終了、または作業日と作業時間（分）のどちらかを入力してください",
  },
  "hours.requiredWith": { en: "is required with {other}", ja: "{other}と一緒に入力してください" },
  "hours.entryTooLong": { en: "an entry covers at most 24 hours", ja: "1 件の記録は 24 時間までです" },
  "hours.future": {
    en: "is in the future: report hours once they are worked",
    ja: "未来の日時です。作業時間は作業した後に記録してください",
  },
  "hours.outsidePeriod": {
    en: "{day} is outside the contract's period ({start} to {end})",
    ja: "{day} は契約期間（{start}〜{end}）の外です",
  },
  "hours.monday": {
    en: "must be a Monday (weeks run Monday to Sunday, Asia/Tokyo)",
    ja: "月曜日を指定してください（週は月曜から日曜まで、Asia/Tokyo）",
  },
  "hours.nameEngineer": { en: "name the engineer whose week to read", ja: "どのエンジニアの週かを指定してください" },
  "hours.ownWeeks": { en: "engineers read their own weeks", ja: "エンジニアが見られるのは自分の週だけです" },
  "sheet.draft": { en: "draft", ja: "下書き" },
  "sheet.submitted": { en: "submitted", ja: "提出済み" },
  "sheet.approved": { en: "approved", ja: "承認済み" },
  "sheet.rejected": { en: "rejected", ja: "差し戻し" },

  // Deliveries (検収).
  "deliveries.contractorInspects": {
    en: "only a contractor of the tenant inspects deliveries (検収)",
    ja: "検収できるのはテナントの元請担当だけです",
  },
  "deliveries.notDelivered": {
    en: "package is {state}: only a delivered package is inspected",
    ja: "作業パッケージは{state}です。検収できるのは納品済みのものだけです",
  },
  "deliveries.noneAwaiting": {
    en: "the package has no delivery awaiting inspection",
    ja: "この作業パッケージには検収待ちの納品がありません",
  },
  "deliveries.engineerDelivers": {
    en: "only the assigned engineer delivers",
    ja: "納品できるのはアサインされたエンジニアだけです",
  },
  "deliveries.juninin": {
    en: "a 準委任 (juninin) package is paid by hours; nothing is delivered",
    ja: "準委任の作業パッケージは作業時間で支払われるため、納品はありません",
  },
  "deliveries.notInReview": {
    en: "package is {state}: a package is delivered from in_review",
    ja: "作業パッケージは{state}です。納品できるのはレビュー中のものです",
  },
  "deliveries.paidOnDate": { en: "a day as YYYY-MM-DD", ja: "YYYY-MM-DD 形式の日付で指定してください" },
  "deliveries.paidOnFuture": {
    en: "a payment is recorded once made, not ahead",
    ja: "支払日に未来の日付は指定できません",
  },
  "deliveries.paidOnBeforeDelivery": {
    en: "the day of payment is before the delivery",
    ja: "支払日が納品日より前です",
  },
  "deliveries.paidNotAccepted": {
    en: "only an accepted delivery (検収済み) is recorded as paid",
    ja: "支払を記録できるのは検収済みの納品だけです",
  },
  "deliveries.alreadyPaid": { en: "the delivery was paid on {day}", ja: "この納品は {day} に支払済みです" },
  "deliveries.notYet": { en: "not deliverable yet: {reason}", ja: "まだ納品できません: {reason}" },
  "deliveries.noMergedPull": {
    en: "the package has no merged pull request",
    ja: "この作業パッケージにはマージされたプルリクエストがありません",
  },

  // Offers and who is eligible.
  "offers.leadOnly": {
    en: "only the contract's lead offers and withdraws packages",
    ja: "オファーと取り下げができるのは契約のリーダーだけです",
  },
  "offers.notEligible": { en: "engineer is not eligible: {why}", ja: "このエンジニアは条件を満たしていません: {why}" },
  "offers.state": { en: "offer is {state}", ja: "オファーは{state}です" },
  "offers.changedMeanwhile": {
    en: "the offer changed meanwhile; read it again",
    ja: "その間にオファーが変わりました。読み込み直してください",
  },
  "offers.cannotWithdraw": {
    en: "package is {state}: only an offered package, or one assigned and not yet delivered, can be withdrawn",
    ja: "作業パッケージは{state}です。取り下げられるのはオファー中か、アサイン済みで未納品のものだけです",
  },
  "offer.pending": { en: "pending", ja: "回答待ち" },
  "offer.accepted": { en: "accepted", ja: "承諾済み" },
  "offer.declined": { en: "declined", ja: "辞退" },
  "offer.withdrawn": { en: "withdrawn", ja: "取り下げ" },
  "offer.expired": { en: "expired", ja: "期限切れ" },
  "match.skillMissing": {
    en: "no {skill} skill, needs level {required}",
    ja: "{skill} のスキルなし（レベル {required} が必要）",
  },
  "match.skillLow": { en: "{skill} level {has}, needs {required}", ja: "{skill} レベル {has}（{required} が必要）" },
  "match.vettingMissing": { en: "no {kind} on record", ja: "{kind}の記録なし" },
  "match.vettingShort": {
    en: "{kind} valid until {validUntil}, needs {neededUntil}",
    ja: "{kind}の有効期限が {validUntil}（{neededUntil} まで必要）",
  },
  "match.overCapacity": {
    en: "already {over} over capacity a week, needs {needed}",
    ja: "週の稼働可能時間をすでに {over} 超過（{needed} が必要）",
  },
  "match.capacityAway": {
    en: "{spare} spare a week over the package's span ({days} days away), needs {needed}",
    ja: "パッケージの期間で週の空き {spare}（休む日 {days} 日を除く、{needed} が必要）",
  },
  "match.office": {
    en: "belongs to {office}; the contract requires engineers of {allowed}",
    ja: "所属は{office}です。この契約は{allowed}の技術者に限られます",
  },
  "match.noOffice": {
    en: "belongs to no office; the contract requires engineers of {allowed}",
    ja: "所属オフィスがありません。この契約は{allowed}の技術者に限られます",
  },
  "match.capacity": { en: "{spare} spare a week, needs {needed}", ja: "週の空き {spare}（{needed} が必要）" },
  "match.size": {
    en: "wants packages of at most {largest}; this one is {size}",
    ja: "希望するパッケージは {largest} までです（このパッケージは {size}）",
  },
  "vetting.nda": { en: "NDA", ja: "秘密保持契約" },
  "vetting.background_check": { en: "background check", ja: "身元確認" },
  "vetting.security_training": { en: "security training", ja: "セキュリティ研修" },
  "vetting.restricted_clearance": { en: "restricted clearance", ja: "極秘案件の許可" },
  "vetting.my_number": { en: "My Number handling", ja: "マイナンバー取扱い" },

  // Pull requests (continued).
  "pulls.onGitHub": {
    en: "the package's repository is on GitHub: work with it there",
    ja: "この作業パッケージのリポジトリは GitHub にあります。GitHub で操作してください",
  },
  "pulls.leadOnly": { en: "only the contract's lead may {what}", ja: "{what}ことができるのは契約のリーダーだけです" },
  "pulls.livesOnGitHub": {
    en: "pull request #{number} lives on GitHub: {what} there",
    ja: "プルリクエスト #{number} は GitHub にあります。GitHub で{what}ください",
  },
  "pulls.toReview": { en: "review pull requests", ja: "プルリクエストをレビューする" },
  "pulls.toMerge": { en: "merge pull requests", ja: "プルリクエストをマージする" },
  "pulls.engineerOpens": {
    en: "only the package's engineer opens pull requests",
    ja: "プルリクエストを作成できるのは作業パッケージのエンジニアだけです",
  },
  "pulls.noWorkspace": {
    en: "the package has no workspace to open a pull request from",
    ja: "この作業パッケージには、プルリクエストの元になるワークスペースがありません",
  },
  "pulls.checkingOut": {
    en: "the workspace's code is still being checked out; try again in a moment",
    ja: "ワークスペースのコードをまだ取得中です。少し待ってからやり直してください",
  },
  "pulls.workspaceStopped": {
    en: "workspace is {state}: start it so that Azusa can read its fork",
    ja: "ワークスペースの状態が「{state}」です。フォークを読めるように起動してください",
  },
  "pulls.alreadyOpen": {
    en: "pull request #{number} is already open for this branch",
    ja: "このブランチにはすでにプルリクエスト #{number} があります",
  },
  "pulls.state": { en: "pull request is {state}", ja: "プルリクエストは{state}です" },
  "pulls.notMergeable": {
    en: "pull request needs {required} approval(s) of its current head and no open change request; it has {approvals}",
    ja: "マージには最新のコミットへの承認が {required} 件必要で、未解決の修正依頼がないことが条件です（現在の承認は {approvals} 件）",
  },
  "pulls.beingMerged": {
    en: "the pull request is being merged by another request",
    ja: "このプルリクエストは別の操作でマージ中です",
  },
  "pulls.headMoved": {
    en: "the pull request's head moved; review it again",
    ja: "プルリクエストに新しいコミットが追加されました。もう一度レビューしてください",
  },
  "pulls.conflict": { en: "merge conflict in {files}", ja: "{files} でマージの競合が起きています" },
  "pulls.baseMoved": {
    en: "the default branch moved during the merge; try again",
    ja: "マージ中にデフォルトブランチが更新されました。やり直してください",
  },
  "pull.open": { en: "open", ja: "レビュー待ち" },
  "pull.merged": { en: "merged", ja: "マージ済み" },
  "pull.closed": { en: "closed", ja: "クローズ" },
  "workspace.provisioning": { en: "provisioning", ja: "準備中" },
  "workspace.running": { en: "running", ja: "稼働中" },
  "workspace.stopped": { en: "stopped", ja: "停止中" },
  "workspace.failed": { en: "failed", ja: "失敗" },
  "workspace.destroyed": { en: "destroyed", ja: "破棄済み" },

  // Accounts, invitations and API keys.
  "accounts.engineersList": { en: "engineers do not list users", ja: "エンジニアはユーザーの一覧を見られません" },
  "preferences.ownOnly": {
    en: "settings belong to a signed-in person",
    ja: "設定はサインインした本人だけが変えられます",
  },
  "preferences.nothing": {
    en: "give language or emailNotices",
    ja: "language（言語）か emailNotices（メール通知）を指定してください",
  },
  "accounts.operatorsCreated": {
    en: "operators are created from the command line or by invitation",
    ja: "運用担当はコマンドラインか招待で作成します",
  },
  "accounts.emailTaken": { en: "an account for {email} already exists", ja: "{email} のアカウントはすでにあります" },
  "accounts.apiKeyInvites": { en: "API keys cannot invite people", ja: "API キーでは招待できません" },
  "accounts.cannotInvite": { en: "a {role} cannot invite a {invited}", ja: "{role}は{invited}を招待できません" },
  "accounts.tenantToInvite": {
    en: "tenantId is required to invite a {role}",
    ja: "{role}を招待するにはテナントの指定が必要です",
  },
  "accounts.tenantRequired": { en: "required for role {role}", ja: "{role}にはテナントの指定が必要です" },
  "accounts.tenantForRole": { en: "tenantId is required for role {role}", ja: "{role}にはテナントの指定が必要です" },
  "accounts.officeRole": {
    en: "a {role} belongs to the satellite office, not to a tenant",
    ja: "{role}はテナントではなくサテライトオフィスに所属します",
  },
  "accounts.tenantEmpty": { en: "must be empty for role {role}", ja: "{role}にはテナントを指定できません" },
  "accounts.manageInvitations": {
    en: "only operators and contractors manage invitations",
    ja: "招待を管理できるのは運用担当と元請担当だけです",
  },
  "accounts.invitationState": { en: "invitation is {state}", ja: "この招待は{state}です" },
  "accounts.operatorsChangeRoles": { en: "only operators change roles", ja: "役割を変更できるのは運用担当だけです" },
  "accounts.lastOperator": {
    en: "the last operator cannot be given another role",
    ja: "最後の運用担当の役割は変更できません",
  },
  "invitation.pending": { en: "pending", ja: "未承諾" },
  "invitation.accepted": { en: "accepted", ja: "承諾済み" },
  "invitation.revoked": { en: "revoked", ja: "取り消し済み" },
  "invitation.expired": { en: "expired", ja: "期限切れ" },
  "notice.offer.created": {
    en: "An offer for {name} has arrived ({contract})",
    ja: "{name} のオファーが届きました（{contract}）",
  },
  "notice.answerBy": { en: "Answer by {deadline}", ja: "回答期限: {deadline}" },
  "notice.reason": { en: "Reason: {reason}", ja: "理由: {reason}" },
  "notice.offer.withdrawn": {
    en: "The offer or assignment of {name} was withdrawn",
    ja: "{name} のオファー・アサインが取り下げられました",
  },
  "notice.offer.accepted": {
    en: "{who} accepted the offer for {name}",
    ja: "{who} さんが {name} のオファーを受けました",
  },
  "notice.offer.declined": {
    en: "{who} declined the offer for {name}",
    ja: "{who} さんが {name} のオファーを辞退しました",
  },
  "notice.offer.expiring": {
    en: "The offer for {name} expires soon",
    ja: "{name} のオファーがまもなく期限切れになります",
  },
  "notice.pull.opened": {
    en: "Pull request #{number} of {name} is waiting for review",
    ja: "{name} のプルリクエスト #{number} がレビューを待っています",
  },
  "notice.pull.pushed": {
    en: "Pull request #{number} of {name} was updated",
    ja: "{name} のプルリクエスト #{number} が更新されました",
  },
  "notice.pull.changes_requested": {
    en: "Changes were requested on pull request #{number} of {name}",
    ja: "{name} のプルリクエスト #{number} に修正依頼が出ました",
  },
  "notice.pull.approved": {
    en: "Pull request #{number} of {name} was approved",
    ja: "{name} のプルリクエスト #{number} が承認されました",
  },
  "notice.pull.merged": {
    en: "Pull request #{number} of {name} was merged",
    ja: "{name} のプルリクエスト #{number} がマージされました",
  },
  "notice.timesheet.remind": {
    en: "Please submit your timesheet for the week of {week} ({contract})",
    ja: "{week} の週のタイムシートを提出してください（{contract}）",
  },
  "notice.timesheet.remindRejected": {
    en: "Correct the timesheet that was sent back and submit it again.",
    ja: "差し戻されたタイムシートを修正して再提出してください。",
  },
  "notice.timesheet.remindMissing": {
    en: "No hours are recorded for this week yet.",
    ja: "この週の作業時間がまだ記録されていません。",
  },
  "notice.timesheet.submitted": {
    en: "The timesheet for the week of {week} was submitted",
    ja: "{week} の週のタイムシートが提出されました",
  },
  "notice.timesheet.approved": {
    en: "The timesheet for the week of {week} was approved",
    ja: "{week} の週のタイムシートが承認されました",
  },
  "notice.timesheet.rejected": {
    en: "The timesheet for the week of {week} was sent back",
    ja: "{week} の週のタイムシートが差し戻されました",
  },
  "notice.timesheet.draft": {
    en: "The timesheet for the week of {week} was reopened",
    ja: "{week} の週のタイムシートが再オープンされました",
  },
  "notice.vetting.expiring": {
    en: "The vetting record ({kind}) runs out on {date}",
    ja: "審査記録（{kind}）の有効期限 {date} が近づいています",
  },
  "notice.vetting.expiringBody": {
    en: "Unless it is renewed by then, access to work packages stops.",
    ja: "期限までに更新しないと、作業パッケージへのアクセスが止まります。",
  },
  "notice.guide.stale": {
    en: "Please review the section \u201c{section}\u201d of the life guide of {office}",
    ja: "{office} の生活ガイド「{section}」を見直してください",
  },
  "notice.guide.staleBody": {
    en: "It was last reviewed on {date}. Check it, and mark it reviewed if nothing has changed.",
    ja: "最後に見直したのは {date} です。内容を確認し、変更がなければ「見直し済み」にしてください。",
  },
  "notice.guide.housing": { en: "housing", ja: "住まい" },
  "notice.guide.childcare": { en: "childcare and schools", ja: "子育て・学校" },
  "notice.guide.medical": { en: "medical care", ja: "医療" },
  "notice.guide.transport": { en: "getting to Tokyo", ja: "東京への交通" },
  "notice.guide.coworking": { en: "coworking", ja: "コワーキング" },
  "notice.guide.support": { en: "support and advice", ja: "支援制度・相談窓口" },
  "notice.delivery.accepted": { en: "{name} was accepted (検収)", ja: "{name} が検収されました" },
  "notice.delivery.rejected": { en: "{name} was sent back", ja: "{name} が差し戻されました" },
  "notice.delivery.delivered": { en: "{name} was delivered", ja: "{name} が納品されました" },
  "notice.paymentDue": { en: "Payment due: {date}", ja: "支払期日: {date}" },
  "notice.payment.dueSoon": {
    en: "Payment for {name} is due on {date}",
    ja: "{name} の支払期日 {date} が近づいています",
  },
  "notice.payment.dueSoonBody": {
    en: "The Subcontract Act requires payment within 60 days of delivery.",
    ja: "下請法により、納品日から60日以内の支払が必要です。",
  },
  "notice.interest.registered": {
    en: "Someone registered interest in moving to and working at {office}",
    ja: "{office} に移住・就業の関心登録がありました",
  },
  "notice.interest.registeredBody": {
    en: "Read it on the office's Interest registrations page.",
    ja: "オフィスの「関心登録」ページで内容を確認できます。",
  },
  "mail.operatorsOnly": { en: "only operators read the mail outbox", ja: "メールの送信状況は運用担当だけが見られます" },
  "mail.retrySent": { en: "the message is {state} already", ja: "このメールはすでに{state}です" },
  "mail.pending": { en: "pending", ja: "送信待ち" },
  "mail.sent": { en: "sent", ja: "送信済み" },
  "mail.failed": { en: "failed", ja: "送信失敗" },
  "mail.notice.footer": { en: "Your notices in Azusa: {link}", ja: "Azusa の通知: {link}" },
  "mail.invitation.subject": { en: "Your invitation to Azusa ({role})", ja: "Azusa への招待（{role}）" },
  "mail.invitation.body": {
    en: "{inviter} has invited you to Azusa as {role}.\n\nOpen this link and choose your name and password to make your account (it works once, until {expires}):\n{link}\n\nIf you did not expect this invitation, you can ignore this e-mail.",
    ja: "{inviter} さんから、Azusa に{role}として招待されました。\n\n次のリンクを開き、氏名とパスワードを決めるとアカウントができます（{expires} まで、一度だけ使えます）。\n{link}\n\n心当たりがない場合は、このメールを破棄してください。",
  },
  "apiKeys.contractorsOnly": { en: "only contractors hold API keys", ja: "API キーを持てるのは元請担当だけです" },
  "apiKeys.signIn": {
    en: "an API key cannot manage API keys; sign in",
    ja: "API キーでは API キーを管理できません。サインインしてください",
  },

  // Task batches (data entry).
  "session.idle": {
    en: "session ended: idle timeout",
    ja: "入力も出力もない時間が上限に達したため、セッションを終了しました",
  },
  "session.limit": {
    en: "session ended: session time limit reached",
    ja: "セッションの時間の上限に達したため、終了しました",
  },
  "session.starting": { en: "starting your workspace…", ja: "ワークスペースを起動しています…" },
  "session.started": { en: "workspace running ({seconds} s)", ja: "ワークスペースが起動しました（{seconds} 秒）" },
  "tasks.noUnitPrice": {
    en: "this batch has no unit price: its work is paid by hours through timesheets, so it has no order per item",
    ja: "このバッチには単価がありません。作業はタイムシートの時間で支払われるため、件数による発注書はありません",
  },
  "tasks.leadDecides": {
    en: "only a lead named on the contract, or an engineer they let, decides a disputed item",
    ja: "食い違いのある項目を決められるのは、契約のリーダーと、リーダーが判定を任せたエンジニアだけです",
  },
  "tasks.leadGrants": {
    en: "only a lead named on the contract lets engineers decide its disputed items",
    ja: "食い違いの判定をエンジニアに任せられるのは契約のリーダーだけです",
  },
  "tasks.noBatchOnContract": {
    en: "no task batch with this id on the contract",
    ja: "この契約にこの ID のバッチはありません",
  },
  "tasks.adjudicatorNotVetted": {
    en: "{name} may not decide this batch's disputes: {why}",
    ja: "{name} さんはこのバッチの食い違いを判定できません: {why}",
  },
  "tasks.alreadyAdjudicator": {
    en: "{name} already decides these disputes",
    ja: "{name} さんはすでにこの判定を任されています",
  },
  "tasks.adjudicatorRevoked": { en: "the grant was revoked already", ja: "この判定の権限はすでに取り消されています" },
  "tasks.ownItem": {
    en: "you keyed this item; someone else decides it",
    ja: "この項目はご自身が入力したため、ほかの人が判定します",
  },
  "tasks.alreadyDisposed": {
    en: "the batch's values were already disposed of",
    ja: "このバッチの値はすでに削除・廃棄されています",
  },
  "tasks.disposedNoItems": {
    en: "the batch's values were disposed of; it takes no more items",
    ja: "このバッチの値は削除・廃棄済みのため、項目を追加できません",
  },
  "tasks.contractorDisposes": {
    en: "only a contractor of the tenant disposes of a batch's values",
    ja: "バッチの値を削除・廃棄できるのは、そのテナントの元請担当だけです",
  },
  "tasks.notVetted": {
    en: "this batch needs vetting you do not hold valid today: {why}",
    ja: "このバッチに必要な審査が本日有効ではありません: {why}",
  },
  "tasks.keyerNotVetted": {
    en: "{name} may not key this batch: {why}",
    ja: "{name} さんはこのバッチを入力できません: {why}",
  },
  "tasks.reclaimed": {
    en: "this item was given back after {minutes} minutes without a send, for another keyer; take the next item",
    ja: "この項目は {minutes} 分間送信がなかったため、ほかの入力者に回しました。次の項目を取ってください",
  },
  "tasks.noEngineer": { en: "no engineer with this id", ja: "この ID のエンジニアはいません" },
  "tasks.busy": {
    en: "too many keyers are taking items at once; try again",
    ja: "同時に項目を取っている入力者が多すぎます。やり直してください",
  },
  "tasks.notDisputed": { en: "the item is {state}, not disputed", ja: "この項目は{state}で、食い違いはありません" },
  "item.open": { en: "open", ja: "未確定" },
  "item.agreed": { en: "agreed", ja: "一致" },
  "item.disputed": { en: "disputed", ja: "食い違いあり" },
  "item.adjudicated": { en: "adjudicated", ja: "裁定済み" },
  "tasks.perPerson": {
    en: "per-person figures are shown to the person and to the contract's leads only",
    ja: "個人別の数値を見られるのは本人と契約のリーダーだけです",
  },
  "tasks.oneField": { en: "a batch needs at least one field", ja: "バッチには 1 つ以上の項目が必要です" },
  "tasks.manyFields": { en: "at most {n} fields", ja: "項目は {n} 個までです" },
  "tasks.secondField": { en: "a second field named {name}", ja: "「{name}」という項目が重複しています" },
  "tasks.needsChoices": { en: "a choice field needs its choices", ja: "選択式の項目には選択肢が必要です" },
  "tasks.onlyChoice": { en: "only a choice field has choices", ja: "選択肢を持てるのは選択式の項目だけです" },
  "tasks.corporateOnly": {
    en: "only an invoice_number field takes corporateOnly",
    ja: "corporateOnly を指定できるのは登録番号（invoice_number）の項目だけです",
  },
  "tasks.contractorOnly": {
    en: "only a contractor of the tenant manages its task batches",
    ja: "タスクバッチを管理できるのはテナントの元請担当だけです",
  },
  "tasks.notCsv": { en: "not a CSV file: {reason}", ja: "CSV ファイルとして読めません: {reason}" },
  "tasks.manyItems": { en: "a CSV brings at most {n} items at once", ja: "1 回の CSV で取り込めるのは {n} 件までです" },
  "tasks.noRows": { en: "the file has a header but no rows", ja: "見出し行の後に行がありません" },
  "tasks.unknownColumn": {
    en: "column {n} ({name}) is not a field of the batch",
    ja: "{n} 列目（{name}）はこのバッチの項目ではありません",
  },
  "tasks.individualNumber": {
    en: "column {n} ({name}) is an individual number, which is not imported",
    ja: "{n} 列目（{name}）はマイナンバーのため、取り込みません",
  },
  "tasks.columnTwice": { en: "a column is named twice", ja: "同じ名前の列が 2 つあります" },
  "taskDocs.unreadable": {
    en: "{name} cannot be read as an image or a PDF",
    ja: "{name} を画像または PDF として読めません",
  },
  "taskDocs.notADocument": {
    en: "{name} is not a PNG, JPEG or PDF (by its content); other files are not taken",
    ja: "{name} は（中身から見て）PNG・JPEG・PDF ではありません。ほかの形式は受け付けません",
  },
  "taskDocs.tooManyPixels": {
    en: "{name} is larger than {max} pixels",
    ja: "{name} は {max} ピクセルを超えています",
  },
  "taskDocs.tooManyPages": {
    en: "{name} has {pages} pages; a PDF may have at most {max}",
    ja: "{name} は {pages} ページあります。PDF は {max} ページまでです",
  },
  "taskDocs.fileTooLarge": { en: "{name} is larger than {max}", ja: "{name} は {max} を超えています" },
  "taskDocs.uploadTooLarge": { en: "an upload may be at most {max}", ja: "1 回のアップロードは {max} までです" },
  "taskDocs.zipEntries": {
    en: "the zip holds {n} entries; at most {max} are taken",
    ja: "zip に {n} 個のファイルがあります。{max} 個までです",
  },
  "taskDocs.zipTooLarge": {
    en: "the zip unpacks to more than {max}",
    ja: "zip を展開すると {max} を超えます",
  },
  "taskDocs.zipEncrypted": {
    en: "{name} in the zip is encrypted; send it without a password",
    ja: "zip 内の {name} は暗号化されています。パスワードなしで送ってください",
  },
  "taskDocs.badZip": { en: "the zip cannot be read", ja: "zip ファイルを読めません" },
  "taskDocs.emptyZip": { en: "the zip holds no files", ja: "zip にファイルがありません" },
  "taskDocs.noPoppler": {
    en: "PDFs cannot be rendered here: poppler-utils (pdftoppm) is not installed",
    ja: "この環境では PDF を画像にできません（poppler-utils の pdftoppm がありません）",
  },

  // Workspaces and their files.
  "workspaces.operatorsList": {
    en: "only operators list workspaces",
    ja: "ワークスペースの一覧を見られるのは運用担当だけです",
  },
  "workspaces.engineerStarts": {
    en: "only the package's engineer starts its workspace",
    ja: "ワークスペースを起動できるのは作業パッケージのエンジニアだけです",
  },
  "workspaces.accessEnded": {
    en: "the package is {state}: its engineer's access to the workspace has ended",
    ja: "作業パッケージは{state}です。エンジニアのワークスペースへのアクセスは終了しました",
  },
  "workspaces.onlyStoppedStarts": {
    en: "workspace is {state}: only a stopped workspace starts",
    ja: "ワークスペースの状態が「{state}」です。起動できるのは停止中のワークスペースだけです",
  },
  "workspaces.whoStops": {
    en: "only the package's engineer, the contract's lead or an operator stops a workspace",
    ja: "ワークスペースを停止できるのは作業パッケージのエンジニア、契約のリーダー、運用担当だけです",
  },
  "workspaces.onlyRunningStops": {
    en: "workspace is {state}: only a running workspace stops",
    ja: "ワークスペースの状態が「{state}」です。停止できるのは稼働中のワークスペースだけです",
  },
  "workspaces.whoDestroys": {
    en: "only operators and the contract's lead destroy workspaces",
    ja: "ワークスペースを破棄できるのは運用担当と契約のリーダーだけです",
  },
  "workspaces.state": { en: "workspace is {state}", ja: "ワークスペースの状態が「{state}」です" },
  "workspaces.operatorsMove": {
    en: "only operators move workspaces to another host",
    ja: "ワークスペースを別のホストへ移せるのは運用担当だけです",
  },
  "workspaces.moveStopped": {
    en: "workspace is {state}: only a stopped workspace moves to another host",
    ja: "ワークスペースの状態が「{state}」です。別のホストへ移せるのは停止中のワークスペースだけです",
  },
  "workspaces.moveHere": {
    en: "the workspace is on that host already",
    ja: "ワークスペースはすでにそのホストにあります",
  },
  "workspaces.moveRefused": {
    en: "that host cannot take the workspace now: {why}",
    ja: "そのホストは今このワークスペースを受け入れられません: {why}",
  },
  "workspaces.moveSourceSilent": {
    en: "the workspace's host does not answer ({detail}): its files are there, so it cannot be moved now",
    ja: "ワークスペースのホストが応答しません（{detail}）。ファイルがそこにあるため、今は移動できません",
  },
  "workspaces.moveBusy": {
    en: "the workspace is being moved or worked on now; try again once that has finished",
    ja: "ワークスペースは移動中か処理中です。終わってからやり直してください",
  },
  "workspaces.moveSameEngine": {
    en: "both hosts are the same Docker engine: nothing would move",
    ja: "移動元と移動先が同じ Docker エンジンです。移動するものがありません",
  },
  "workspaces.noTemplate": {
    en: 'no workspace template named "{name}"',
    ja: "「{name}」という名前のワークスペーステンプレートはありません",
  },
  "files.nul": { en: "contains a NUL byte", ja: "NUL 文字が含まれています" },
  "files.dotDot": { en: "must not contain '..'", ja: "「..」は使えません" },
  "files.outside": {
    en: "must be inside the workspace folder {folder}",
    ja: "ワークスペースのフォルダ {folder} の中を指定してください",
  },
  "files.folder": {
    en: "names the workspace folder, not a file",
    ja: "ファイルではなくワークスペースのフォルダを指しています",
  },
  "files.tooLarge": { en: "is larger than {bytes} bytes", ja: "{bytes} バイトを超えています" },

  // GitHub and webhooks.
  "github.contractorsOnly": {
    en: "only the tenant's contractors manage its GitHub settings",
    ja: "GitHub の設定を管理できるのはテナントの元請担当だけです",
  },
  "github.leadSetsUp": {
    en: "only the contract's lead sets up repositories",
    ja: "リポジトリを用意できるのは契約のリーダーだけです",
  },
  "github.noOrganization": {
    en: "the tenant has no GitHub organization: a contractor sets it first",
    ja: "テナントに GitHub の組織が設定されていません。先に元請担当が設定してください",
  },
  "github.hasRepository": {
    en: "the package already has a repository ({forge})",
    ja: "この作業パッケージにはすでにリポジトリがあります（{forge}）",
  },
  "webhooks.contractorOnly": {
    en: "only a contractor of the tenant manages its webhooks",
    ja: "Webhook を管理できるのはテナントの元請担当だけです",
  },
  "webhooks.notUrl": { en: "is not a URL", ja: "URL として読めません" },
  "webhooks.credentials": {
    en: "must not carry credentials; the signature authenticates",
    ja: "認証情報は含めないでください（署名で認証します）",
  },
  "webhooks.local": { en: "must not point at this machine", ja: "このマシンを指す URL は使えません" },
  "webhooks.https": {
    en: "must be https:// (plain http only to this machine)",
    ja: "https:// にしてください（http はこのマシン宛てだけです）",
  },
  "webhooks.public": { en: "must point at a public address: {why}", ja: "公開アドレスを指定してください: {why}" },
  "wbs.whoImports": {
    en: "only the contract's contractor or lead imports its WBS",
    ja: "WBS を取り込めるのは契約の元請担当かリーダーだけです",
  },
  "availability.ownOnly": {
    en: "availability is the engineer's own statement; only they change it",
    ja: "稼働可能時間はエンジニア本人の申告です。変更できるのは本人だけです",
  },

  // Requests as such.
  "error.bodyLarger": {
    en: "request body is larger than {bytes} bytes",
    ja: "送信内容が {bytes} バイトを超えています",
  },
  "error.crossSite": {
    en: "cross-site form submission refused: send JSON, or post from Azusa's own pages",
    ja: "別のサイトからのフォーム送信は受け付けません。JSON で送るか、Azusa のページから送信してください",
  },
  "error.noRoute": { en: "no route for {method} {path}", ja: "{method} {path} に対応する機能はありません" },
  "error.metricsToken": {
    en: "send the metrics token as Authorization: Bearer <token>",
    ja: "メトリクスのトークンを Authorization: Bearer <token> として送ってください",
  },
  "error.signInThrottled": {
    en: "too many sign-in attempts; wait a minute",
    ja: "サインインの試行が多すぎます。1 分待ってからやり直してください",
  },
  "error.signInOrKey": {
    en: "sign in first, or send an API key in x-api-key",
    ja: "先にサインインするか、x-api-key に API キーを付けて送ってください",
  },
  // Forms on the pages.
  "form.minutes": { en: "a whole number from 1 to 1440", ja: "1〜1440 の整数で入力してください" },
  "form.manyReasons": { en: "at most {n} reasons, one a line", ja: "理由は 1 行に 1 つ、{n} 件までです" },
  "form.longReason": {
    en: "each reason (one a line) must be at most {n} characters",
    ja: "理由（1 行に 1 つ）はそれぞれ {n} 文字以内にしてください",
  },
  "form.verdict": {
    en: "verdict: choose approve, request changes or comment",
    ja: "判定: 承認、修正依頼、コメントのいずれかを選んでください",
  },
  "form.verdictField": { en: "invalid", ja: "選んでください" },
  "form.engineerRequired": { en: "engineerId: required", ja: "エンジニア: 選んでください" },
  "terminal.ownPages": {
    en: "the terminal opens only from Azusa's pages",
    ja: "ターミナルは Azusa のページからだけ開けます",
  },

  // Requests as such (continued).
  "error.mediaType": {
    en: "{sent} is not accepted here: send the body as the route's entry in /api/v1/openapi.json says (JSON routes take application/json)",
    ja: "{sent}は受け付けていません。/api/v1/openapi.json の説明どおりに送ってください（JSON の機能は application/json です）",
  },
  "error.contentType": { en: "content type {type}", ja: "コンテンツタイプ {type} " },
  "error.noContentType": { en: "a body without a content type", ja: "コンテンツタイプのない本文" },
  "error.notFoundPlain": { en: "not found", ja: "見つかりません" },
  "error.badRequest": { en: "bad request", ja: "リクエストが正しくありません" },
  "error.malformedJson": {
    en: "malformed JSON in the request body",
    ja: "リクエスト本文の JSON の形式が正しくありません",
  },
  "error.origin": {
    en: "{origin} refused: with a session cookie, changes must come from {own} (scripts send an API key)",
    ja: "{origin}は受け付けません。セッションでの変更は {own} から送ってください（スクリプトは API キーを使ってください）",
  },
  "error.originNamed": { en: "Origin {origin}", ja: "Origin {origin} からの送信" },
  "error.originMissing": { en: "a request without an Origin header", ja: "Origin ヘッダーのない送信" },
  "error.database": {
    en: "the database does not answer at the moment; try again shortly",
    ja: "データベースが応答していません。しばらくしてからやり直してください",
  },
  // better-auth's refusals, by its codes, in its own English words.
  "auth.INVALID_EMAIL_OR_PASSWORD": { en: "Invalid email or password", ja: "メールアドレスかパスワードが違います" },
  "auth.INVALID_PASSWORD": { en: "Invalid password", ja: "パスワードが違います" },
  "auth.INVALID_EMAIL": { en: "Invalid email", ja: "メールアドレスが正しくありません" },
  "auth.PASSWORD_TOO_SHORT": { en: "Password too short", ja: "パスワードが短すぎます" },
  "auth.PASSWORD_TOO_LONG": { en: "Password too long", ja: "パスワードが長すぎます" },
  "auth.USER_NOT_FOUND": { en: "User not found", ja: "ユーザーが見つかりません" },
  "auth.SESSION_EXPIRED": {
    en: "Session expired. Re-authenticate to perform this action.",
    ja: "セッションの有効期限が切れました。もう一度サインインしてください",
  },
  "auth.CREDENTIAL_ACCOUNT_NOT_FOUND": {
    en: "Credential account not found",
    ja: "パスワードでサインインできるアカウントがありません",
  },
  "auth.INVALID_TOKEN": { en: "Invalid token", ja: "トークンが正しくありません" },
  "auth.TOKEN_EXPIRED": { en: "Token expired", ja: "トークンの有効期限が切れています" },
  "error.authRefused": { en: "{words}", ja: "サインインの処理が受け付けられませんでした（{words}）" },
  "audit.whoReads": {
    en: "only operators and contractors read the audit log",
    ja: "監査ログを読めるのは運用担当と元請担当だけです",
  },
  "audit.whoVerifies": { en: "only operators verify the audit log", ja: "監査ログを検証できるのは運用担当だけです" },
  "recordings.range": {
    en: "range: the recording has {size} bytes",
    ja: "範囲: セッション記録は {size} バイトです",
  },

  // Repositories over Git's smart HTTP and the built-in forge.
  "git.throttled": {
    en: "too many failed sign-ins; wait a minute",
    ja: "サインインの失敗が多すぎます。1 分待ってください",
  },
  "git.readOnly": { en: "repositories are read-only over HTTP", ja: "HTTP ではリポジトリは読み取り専用です" },
  "git.smartOnly": { en: "only smart HTTP clients are served", ja: "スマート HTTP のクライアントにだけ応答します" },
  "git.pushToWorkspace": {
    en: "repositories are read-only over HTTP: push to your workspace's origin",
    ja: "HTTP ではリポジトリは読み取り専用です。ワークスペースの origin に push してください",
  },
  "git.notBranch": { en: "{path}: not a branch name", ja: "{path}: ブランチ名として使えません" },
  "git.plainIds": {
    en: "tenant and package ids must be plain names",
    ja: "テナントと作業パッケージの ID は英数字の名前にしてください",
  },
  "git.plainWorkspace": {
    en: "workspace id must be a plain name",
    ja: "ワークスペースの ID は英数字の名前にしてください",
  },
  "git.mergeMoved": {
    en: "the default branch moved during the merge; try again",
    ja: "マージの途中でデフォルトブランチが進みました。やり直してください",
  },
  "git.noDefault": { en: "the repository has no default branch", ja: "リポジトリにデフォルトブランチがありません" },
  "github.refused": {
    en: "GitHub refused {action} ({status}): check the organization's token",
    ja: "GitHub が {action} を拒否しました（{status}）。組織のトークンを確認してください",
  },
  "github.notFound": { en: "GitHub: {action}: not found", ja: "GitHub: {action}: 見つかりません" },
  "github.invalid": {
    en: "GitHub refused {action}: {message}",
    ja: "GitHub が {action} を受け付けませんでした: {message}",
  },
  "github.failed": { en: "GitHub: {action} failed{status}", ja: "GitHub: {action} に失敗しました{status}" },
  "github.settingsUnreadable": {
    en: "the tenant's GitHub settings cannot be read",
    ja: "テナントの GitHub の設定を読めません",
  },
  "webhooks.badSignature": { en: "the webhook's signature does not match", ja: "Webhook の署名が一致しません" },

  // The container engine, workspaces and their networks.
  "engine.unreachable": {
    en: "the Docker engine is not reachable ({action})",
    ja: "Docker エンジンに接続できません（{action}）",
  },
  "engine.notFound": { en: "{what} not found", ja: "{what} が見つかりません" },
  "engine.conflict": {
    en: "{action}: {what} conflicts with the engine's state",
    ja: "{action}: {what} がエンジンの状態と合いません",
  },
  "engine.refused": {
    en: "{action}: the engine refused the request",
    ja: "{action}: エンジンが要求を受け付けませんでした",
  },
  "engine.unknownUser": {
    en: 'user: "{user}" is not in the image\'s /etc/passwd',
    ja: "ユーザー: 「{user}」はイメージの /etc/passwd にありません",
  },
  "engine.unknownUserField": { en: "unknown user", ja: "知らないユーザーです" },
  "engine.root": { en: "user: must not be root", ja: "ユーザー: root にはできません" },
  "engine.rootField": { en: "is root", ja: "root です" },
  "engine.unknownGroup": {
    en: 'user: group "{group}" is not in the image\'s /etc/group',
    ja: "ユーザー: グループ「{group}」はイメージの /etc/group にありません",
  },
  "engine.unknownGroupField": { en: "unknown group", ja: "知らないグループです" },
  "engine.hasVolume": {
    en: "workspace {id} already has a volume",
    ja: "ワークスペース {id} にはすでにボリュームがあります",
  },
  "engine.noDiskLimit": {
    en: "resources.diskMiB: size-limited volumes are not set up on this engine",
    ja: "resources.diskMiB: このエンジンには容量制限付きのボリュームが用意されていません",
  },
  "engine.noEgress": {
    en: "egress to the template's destinations is not set up here",
    ja: "テンプレートの通信先への外部通信がここでは用意されていません",
  },
  "engine.exists": { en: "workspace {id} already exists", ja: "ワークスペース {id} はすでにあります" },
  "engine.noProgram": { en: "cmd: must name a program", ja: "cmd: 実行するプログラムを指定してください" },
  "engine.noProgramField": { en: "empty", ja: "空です" },
  "engine.notRunning": { en: "workspace {id} is not running", ja: "ワークスペース {id} は稼働していません" },
  "engine.noStore": {
    en: "workspace {id} has no object store",
    ja: "ワークスペース {id} にはオブジェクトストアがありません",
  },
  "engine.noVolume": {
    en: "workspace {id} has no volume on this engine",
    ja: "ワークスペース {id} のボリュームがこのエンジンにありません",
  },
  "engine.runningFiles": {
    en: "workspace {id} is running: its files are carried only while it is stopped",
    ja: "ワークスペース {id} は稼働中です。ファイルを運べるのは停止中だけです",
  },
  "engine.variableName": { en: "not a valid variable name", ja: "変数名として使えません" },
  "engine.userForm": {
    en: "must be name, uid, name:group or uid:gid",
    ja: "name、uid、name:group、uid:gid のいずれかにしてください",
  },
  "engine.notRoot": { en: "must not be root", ja: "root にはできません" },
  "engine.id": {
    en: "letters, digits, '_', '.' and '-' only, at most 63",
    ja: "英数字、「_」「.」「-」だけで 63 文字以内にしてください",
  },
  "engine.noSpaces": { en: "must be non-empty without spaces", ja: "空白を含めずに入力してください" },
  "engine.cpus": { en: "must be above 0 and at most 256", ja: "0 より大きく 256 以下にしてください" },
  "engine.memory": { en: "at least 16", ja: "16 以上にしてください" },
  "engine.pids": { en: "an integer of at least 8", ja: "8 以上の整数にしてください" },
  "engine.disk": { en: "an integer of at least 64", ja: "64 以上の整数にしてください" },
  "engine.absoluteFolder": { en: "must be an absolute path below /", ja: "/ から始まる絶対パスにしてください" },
  "engine.storeFolder": {
    en: "only {folder}, for a workspace of a package",
    ja: "作業パッケージのワークスペースの {folder} だけです",
  },
  "egress.firewall": {
    en: "the egress firewall rules could not be installed: {message}",
    ja: "外部通信のファイアウォール規則を設定できませんでした: {message}",
  },
  "egress.hasNetwork": {
    en: "workspace {id} already has an egress network",
    ja: "ワークスペース {id} にはすでに外部通信用のネットワークがあります",
  },
  "egress.noSubnet": {
    en: "no free egress subnet left in {pool}",
    ja: "{pool} に空いている外部通信用のサブネットがありません",
  },
  "egress.noNetwork": {
    en: "workspace {id} has no egress network",
    ja: "ワークスペース {id} には外部通信用のネットワークがありません",
  },
  "files.answered": {
    en: "the workspace answered {code}: {stderr}",
    ja: "ワークスペースがエラー {code} を返しました: {stderr}",
  },
  "files.unavailable": { en: "{stderr}", ja: "ワークスペースが応答できません（{stderr}）" },
  "files.refused": { en: "{stderr}", ja: "受け付けられませんでした（{stderr}）" },
  "files.noAccess": { en: "{reason}", ja: "ワークスペースに入れません（{reason}）" },
  "files.notReady": { en: "{reason}", ja: "ワークスペースの準備ができていません（{reason}）" },

  // Workspace hosts.
  "hosts.url": { en: "must be tcp://host:port", ja: "tcp://ホスト:ポート の形にしてください" },
  "hosts.certificate": { en: "must be a PEM certificate", ja: "PEM 形式の証明書にしてください" },
  "hosts.key": { en: "must be a PEM private key", ja: "PEM 形式の秘密鍵にしてください" },
  "hosts.operatorsOnly": {
    en: "only operators manage workspace hosts",
    ja: "ワークスペースホストを管理できるのは運用担当だけです",
  },
  "hosts.nameTaken": {
    en: 'a workspace host named "{name}" exists already',
    ja: "「{name}」という名前のワークスペースホストはすでにあります",
  },
  "hosts.noSuchHost": { en: "no such workspace host", ja: "そのワークスペースホストはありません" },
  "hosts.noTenant": { en: "no such tenant", ja: "そのテナントはありません" },
  "hosts.absolutePath": { en: "must be an absolute path", ja: "絶対パスにしてください" },
  "hosts.noAnswer": {
    en: "the engine at {address} did not answer: {message}",
    ja: "{address} のエンジンが応答しませんでした: {message}",
  },
  "hosts.defaultStays": {
    en: "the host DOCKER_HOST names cannot be removed; drain it",
    ja: "DOCKER_HOST が指すホストは削除できません。ドレインしてください",
  },
  "hosts.notEmpty": {
    en: "{n} workspace(s) are still on host {name}; move or destroy them first",
    ja: "ホスト {name} にはまだ {n} 個のワークスペースがあります。先に移すか破棄してください",
  },

  // The WBS (continued).
  "wbs.notImported": {
    en: "the WBS was not imported: {path}: {message}{more}",
    ja: "WBS を取り込めませんでした: {path}: {message}{more}",
  },
  "wbs.andMore": { en: " (and {n} more)", ja: "（ほか {n} 件）" },
  "wbs.row": { en: "row {row}", ja: "{row} 行目" },
  "wbs.tooMany": {
    en: "the WBS has {n} items; at most {max} are imported at once (split the contract)",
    ja: "WBS の項目が {n} 件あります。一度に取り込めるのは {max} 件までです（契約を分けてください）",
  },
  "wbs.tooBig": {
    en: "the WBS needs more than {mb} MiB to read, the most one import may use; split it or save it as CSV",
    ja: "WBS を読むのに 1 回の取り込みの上限 {mb} MiB を超えるメモリが必要です。分けるか CSV で保存してください",
  },

  // Why a way into a workspace (SSH, the browser terminal, the web IDE) is refused or ended: said to the engineer
  // in their language; the English words are also the evidence kept in the audit log.
  "access.notAssigned": {
    en: "the package is not assigned to this engineer",
    ja: "このパッケージはあなたにアサインされていません",
  },
  "access.cancelled": { en: "the package is cancelled", ja: "このパッケージは取り消されました" },
  "access.accepted": {
    en: "the package was accepted (検収): the engineer's access has ended",
    ja: "このパッケージは検収済みのため、作業環境へのアクセスは終了しました",
  },
  "access.vetting": {
    en: "vetting lapsed or missing: {kinds}",
    ja: "審査（{kinds}）が期限切れか未登録です",
  },
  "access.noWorkspace": { en: "the workspace does not exist", ja: "ワークスペースがありません" },
  "access.destroyed": { en: "the workspace was destroyed", ja: "ワークスペースは破棄されました" },
  "access.notReady": { en: "the workspace is not ready", ja: "ワークスペースの準備ができていません" },
  "access.workspaceState": { en: "the workspace is {state}", ja: "ワークスペースは「{state}」の状態です" },
  "access.workspaceFailed": {
    en: "the workspace is failed: {why}",
    ja: "ワークスペースは使えません（{why}）",
  },
  "access.checkoutFailed": { en: "{why}", ja: "ワークスペースは使えません（{why}）" },
  "access.checkingOut": {
    en: "the workspace's code is still being checked out; try again in a moment",
    ja: "ワークスペースにコードを取得しているところです。少し待ってからもう一度お試しください",
  },
  "access.network": {
    en: "{source} is outside the contract's allowed networks",
    ja: "接続元 {source} は契約で許可されたネットワークの外です",
  },
  "access.keyRemoved": { en: "the SSH key was removed", ja: "SSH 鍵が削除されました" },
  "access.signedOut": { en: "signed out", ja: "サインアウトしました" },
  "access.noPackage": {
    en: '"{user}" names no package: use pkg-<package id>',
    ja: "ユーザー名「{user}」はパッケージを指していません。pkg-<パッケージID> を使ってください",
  },
  "access.revoked": {
    en: "session ended: access revoked: {why}",
    ja: "アクセスが取り消されたため、セッションを終了しました: {why}",
  },
  // What an SSH login is told before "Permission denied" when no registered key of the person's matched yet:
  // said in both languages, since whose language it is cannot be known.
  "login.unknownKey": {
    en: "the key {fingerprint} is not registered to any engineer; log in with a registered key",
    ja: "鍵 {fingerprint} はどのエンジニアにも登録されていません（登録済みの鍵で接続してください）",
  },
  "login.locked": {
    en: "too many failed logins from here or for this package; try again in 15 minutes",
    ja: "この接続元またはこのパッケージへのログイン失敗が続いたため、15 分ほどログインできません",
  },
  "login.weakAlgorithm": {
    en: "{algorithm} signatures with SHA-1 and DSA keys are not accepted; use an Ed25519, ECDSA or RSA (SHA-2) key",
    ja: "{algorithm}（SHA-1 の署名）と DSA 鍵は使えません。Ed25519・ECDSA・RSA（SHA-2）の鍵を使ってください",
  },
  "login.tooManyKeys": {
    en: "more than {max} keys offered; name the one to use (ssh -i key -o IdentitiesOnly=yes)",
    ja: "提示された鍵が {max} 本を超えました。使う鍵を指定してください（ssh -i 鍵 -o IdentitiesOnly=yes）",
  },
  "login.unavailable": {
    en: "Azusa cannot check logins for a moment (its database does not answer); try again shortly",
    ja: "データベースが応答しないため、いまはログインを確認できません。少し待ってからもう一度お試しください",
  },
  // Why a forward or a listener (ssh -L, -W, -R, -A, X11) is refused: the English words go in the channel's
  // refusal and the audit log; the engineer's language is said on the connection's sessions (OpenSSH prints a
  // refusal's other characters as octal escapes).
  "forward.restricted": {
    en: "this package's contract is restricted: no forwarding",
    ja: "このパッケージの契約は制限付きのため、転送は使えません",
  },
  "forward.notListed": {
    en: "the workspace's template does not allow forwarding there",
    ja: "ワークスペースのテンプレートはこの転送先へのポート転送を許可していません",
  },
  "forward.refusedLocal": {
    en: "forwarding to {destination} refused: {why}",
    ja: "{destination} へのポート転送を拒否しました: {why}",
  },
  "forward.remoteNotLoopback": {
    en: "remote forwarding listens only on the workspace's 127.0.0.1, not on {address}",
    ja: "リモート転送で待ち受けられるのはワークスペースの 127.0.0.1 だけです（{address} は使えません）",
  },
  "forward.remoteNotListed": {
    en: "the workspace's template does not allow remote forwarding from port {port}",
    ja: "ワークスペースのテンプレートはポート {port} からのリモート転送を許可していません",
  },
  "forward.remoteTaken": {
    en: "already listening on {bind}, or too many remote forwards (at most {max})",
    ja: "{bind} はすでに待ち受け中か、リモート転送が多すぎます（上限 {max}）",
  },
  "forward.agent": {
    en: "the workspace's template does not allow agent forwarding",
    ja: "ワークスペースのテンプレートはエージェント転送を許可していません",
  },
  "forward.x11": {
    en: "the workspace's template does not allow X11 forwarding",
    ja: "ワークスペースのテンプレートは X11 転送を許可していません",
  },
  "forward.x11Malformed": {
    en: "the X11 authentication data is malformed",
    ja: "X11 の認証データが正しくありません",
  },
  "forward.x11Twice": { en: "this session already forwards X11", ja: "このセッションはすでに X11 を転送しています" },
  "forward.tooMany": {
    en: "too many forwarded connections (at most {max})",
    ja: "転送中の接続が多すぎます（上限 {max}）",
  },
  "forward.noPerl": {
    en: "the workspace has no perl to listen with",
    ja: "ワークスペースに待ち受けに使う perl がありません",
  },
  "forward.failed": { en: "{why}", ja: "ワークスペースで待ち受けを始められませんでした（{why}）" },
  "forward.agentUnavailable": {
    en: "agent forwarding is not available: {why}",
    ja: "エージェント転送は使えません: {why}",
  },
  "forward.x11Unavailable": {
    en: "X11 forwarding is not available: {why}",
    ja: "X11 転送は使えません: {why}",
  },
  "forward.remoteUnavailable": {
    en: "remote forwarding from port {port} is not available: {why}",
    ja: "ポート {port} からのリモート転送は使えません: {why}",
  },
  // What the egress proxy answers a tool inside a workspace (in Japanese, then in English, in the body).
  "egress.notHttp": { en: "not an HTTP/1 request", ja: "HTTP/1 のリクエストではありません" },
  "egress.connectTarget": { en: "CONNECT needs host:port", ja: "CONNECT には ホスト:ポート が必要です" },
  "egress.absoluteUrl": {
    en: "a proxied request needs an absolute http:// URL",
    ja: "プロキシへのリクエストには http:// で始まる絶対 URL が必要です",
  },
  "egress.onlyHttp": {
    en: "only http:// is forwarded; use CONNECT for anything else",
    ja: "転送するのは http:// だけです。それ以外は CONNECT を使ってください",
  },
  "egress.headTooLarge": { en: "request head too large", ja: "リクエストヘッダーが大きすぎます" },
  "egress.notAllowed": {
    en: "{destination} is not in this workspace's allow-list",
    ja: "{destination} はこのワークスペースの接続許可リストにありません",
  },
  "egress.cannotConnect": {
    en: "cannot connect to {destination} ({code})",
    ja: "{destination} に接続できません（{code}）",
  },
  "egress.crowded": {
    en: "too many connections at once (at most {max})",
    ja: "同時接続が多すぎます（上限 {max}）",
  },
  // Why a workspace is in its state, as the services store it in English (the evidence): said in the reader's
  // language on pages and in SSH refusals (src/domain/workspaces/reasons.ts knows the stored forms).
  "workspaceReason.provisioned": { en: "provisioned for the assignment", ja: "アサインに合わせて準備しました" },
  "workspaceReason.provisionedAfterRestart": {
    en: "provisioning finished after a restart",
    ja: "再起動の後に準備が完了しました",
  },
  "workspaceReason.interruptedEnded": {
    en: "provisioning was interrupted and the assignment has ended",
    ja: "準備が中断され、アサインも終了しています",
  },
  "workspaceReason.vanished": {
    en: "its container vanished from the engine",
    ja: "コンテナが Docker エンジンから消えていました",
  },
  "workspaceReason.noTemplate": {
    en: 'no workspace template named "{name}"',
    ja: "テンプレート「{name}」がありません",
  },
  "workspaceReason.waitingForHost": {
    en: "waiting for a workspace host that fits ({detail})",
    ja: "条件に合うワークスペースホストの空き待ち（{detail}）",
  },
  "workspaceReason.waitingForTenantHost": {
    en: "waiting for a workspace host labelled for the tenant of this restricted contract ({detail})",
    ja: "この機密契約のテナント専用ワークスペースホストの空き待ち（{detail}）",
  },
  "workspaceReason.hostAvailable": {
    en: "a workspace host can take it now",
    ja: "ワークスペースホストの空きができました",
  },
  "workspaceReason.imageMissing": {
    en: "provisioning failed: image {image} not found",
    ja: "準備に失敗しました: イメージ {image} がエンジンにありません",
  },
  "workspaceReason.provisionFailed": { en: "provisioning failed: {detail}", ja: "準備に失敗しました: {detail}" },
  "workspaceReason.checkoutFailed": {
    en: "checking out the package's code failed: {detail}",
    ja: "パッケージのコードのチェックアウトに失敗しました: {detail}",
  },
  "workspaceReason.checkoutStartFailed": {
    en: "starting it to finish checking out its code failed: {detail}",
    ja: "チェックアウトを終えるための起動に失敗しました: {detail}",
  },
  "workspaceReason.checkoutStarted": {
    en: "started to finish checking out its code",
    ja: "コードのチェックアウトを終えるために起動しました",
  },
  "workspaceReason.startedBy": { en: "started by the {role}", ja: "{role}が起動しました" },
  "workspaceReason.started": { en: "started", ja: "起動しました" },
  "workspaceReason.stoppedBy": { en: "stopped by the {role}", ja: "{role}が停止しました" },
  "workspaceReason.stopped": { en: "stopped", ja: "停止しました" },
  "workspaceReason.idle": {
    en: "stopped after {minutes} idle minutes (limit {limit})",
    ja: "{minutes} 分間操作がなかったため停止しました（上限 {limit} 分）",
  },
  "workspaceReason.moved": {
    en: "moved to another workspace host: {why}",
    ja: "別のワークスペースホストへ移動しました: {why}",
  },
  "workspaceReason.assignmentEnded": { en: "the assignment ended ({why})", ja: "アサインが終了しました（{why}）" },
  "workspaceState.provisioning": { en: "provisioning", ja: "準備中" },
  "workspaceState.pending": { en: "pending", ja: "待機中" },
  "workspaceState.failed": { en: "failed", ja: "失敗" },
} as const satisfies Record<string, { en: string; ja: string }>;

export type MessageId = keyof typeof catalogue;

/** A message with its values, to raise or to show. */
export const text = (key: MessageId, params?: Record<string, Param>): Text => (params ? { key, params } : { key });
/** `text` under another name, for modules where `text` names something else. */
export const msg = text;

/** A WBS column's name as a message value (作業名, 見積工数, …): the field's label, but a WBS calls its title 作業名. */
export const wbsField = (field: string): Text | string =>
  field === "title" ? text("field.wbs.title") : fieldName(field);

/** A message with its English words, to spread into an object that keeps both (a WBS problem, a field problem). */
export const said = (message: Text): { message: string; text: Text } => ({ message: english(message), text: message });

/** A package state as a message value (`in_progress` reads "in progress" / 作業中). */
export const stateText = (state: string): Param => {
  const key = `state.${state}`;
  return key in catalogue ? text(key as MessageId) : state;
};

/**
 * A stable code as a message value: said as the code in English, as the API has always said it, and as the
 * catalogue's `prefix.code` in other languages (`in_progress` / 作業中).
 */
export const codeOf = (prefix: string, code: string): Param => {
  const key = `${prefix}.${code}`;
  return { code, text: key in catalogue ? text(key as MessageId) : code };
};

/** A package state as a code: `in_progress` in English; 作業中 in Japanese. */
export const stateCode = (state: string): Param => codeOf("state", state);

/** A role as a code: `lead` in English, リーダー in Japanese. */
export const roleCode = (role: string): Param => codeOf("role", role);

/** Minutes as people read hours: `5:22` (h:mm). */
export const clock = (minutes: number): string => {
  const m = Math.round(minutes);
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}`;
};

/** A moment as people read it: `2026-12-01 09:07 (Asia/Tokyo)`, in `zone` (Asia/Tokyo unless the reader has one). */
export function formatMoment(iso: string, zone = "Asia/Tokyo"): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} (${zone})`;
}

/** How a message is written out: the language, and the reader's time zone for moments. */
export interface Reader {
  lang: Lang;
  zone?: string;
}

/** The words of a message for a reader, every placeholder filled (messages inside it translated too). */
export function say(reader: Reader | Lang, message: Text): string {
  const r = typeof reader === "string" ? { lang: reader } : reader;
  const template: string = catalogue[message.key][r.lang];
  const params = message.params;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (m, name: string) => {
    const value = params[name];
    if (value === undefined) return m;
    return sayParam(r, value);
  });
}

function sayParam(r: Reader, value: Param): string {
  if (typeof value === "string" || typeof value === "number") return String(value);
  if (Array.isArray(value)) return value.map((v) => sayParam(r, v)).join(r.lang === "ja" ? "、" : "; ");
  if ("moment" in value) return formatMoment(value.moment, r.zone ?? value.zone);
  if ("code" in value) return r.lang === "en" ? value.code : sayParam(r, value.text);
  return say(r, value);
}

/** A field's name as a message value: its label from the catalogue when it has one, else the path as written. */
export function fieldName(path: string): Text | string {
  const key = `field.${path}`;
  return key in catalogue ? text(key as MessageId) : path;
}

/** The shape of a zod issue this module reads (structural, so the kernel does not depend on zod). */
export interface IssueLike {
  code: string;
  message: string;
  expected?: unknown;
  input?: unknown;
  minimum?: unknown;
  maximum?: unknown;
  origin?: unknown;
  format?: unknown;
  values?: unknown[];
  keys?: string[];
  params?: Record<string, unknown>;
}

/**
 * A validation issue as a catalogue message. A schema's own message is kept as written unless the schema
 * names a catalogue message in the issue's `params.text`; the built-in kinds have their own texts.
 */
export function issueText(issue: IssueLike): Text | undefined {
  const named = issue.params?.text as Text | undefined;
  if (named && named.key in catalogue) return named;
  const size = (n: unknown) => (typeof n === "bigint" || typeof n === "number" ? String(n) : "?");
  switch (issue.code) {
    case "invalid_type":
      // zod leaves the input out of its issues; its message says what was received.
      return issue.input === undefined && /received undefined$/.test(issue.message)
        ? text("issue.required")
        : text("issue.type", { expected: typeName(issue.expected) });
    case "too_small":
      if (issue.origin === "string")
        return issue.minimum === 1 ? text("issue.required") : text("issue.shortString", { n: size(issue.minimum) });
      if (issue.origin === "array" || issue.origin === "set") return text("issue.fewItems", { n: size(issue.minimum) });
      return text("issue.small", { n: size(issue.minimum) });
    case "too_big":
      if (issue.origin === "string") return text("issue.longString", { n: size(issue.maximum) });
      if (issue.origin === "array" || issue.origin === "set")
        return text("issue.manyItems", { n: size(issue.maximum) });
      return text("issue.big", { n: size(issue.maximum) });
    case "invalid_format":
      return text("issue.format", { format: formatName(issue.format) });
    case "invalid_value":
      return text("issue.oneOf", { values: (issue.values ?? []).map((v) => String(v)).join(", ") });
    case "unrecognized_keys":
      return text("issue.unknownField");
    case "not_multiple_of":
    case "invalid_union":
    case "invalid_key":
    case "invalid_element":
      return text("issue.invalid");
    default:
      return undefined;
  }
}

const typeName = (expected: unknown): Param =>
  expected === "number" || expected === "int"
    ? text("type.number")
    : expected === "string"
      ? text("type.string")
      : expected === "boolean"
        ? text("type.boolean")
        : expected === "array"
          ? text("type.array")
          : expected === "object"
            ? text("type.object")
            : String(expected);

const formatName = (format: unknown): Param =>
  format === "email"
    ? text("format.email")
    : format === "date"
      ? text("format.date")
      : format === "datetime"
        ? text("format.datetime")
        : format === "uuid"
          ? text("format.uuid")
          : format === "url"
            ? text("format.url")
            : text("format.pattern");

/** The English words of a message: what the API says unless Japanese is asked for, and what logs keep. */
export const english = (message: Text): string => say("en", message);

/**
 * The language an `Accept-Language` header prefers among ours: Japanese when `ja` ranks above `en`
 * (by q-value, then by order), English otherwise, the API's default.
 */
export function langFromAcceptLanguage(header: string | null | undefined): Lang {
  if (!header) return "en";
  let best: { lang: Lang; q: number } | null = null;
  for (const part of header.split(",").slice(0, 20)) {
    const [tag = "", ...rest] = part.trim().split(";");
    const primary = tag.trim().toLowerCase().split("-")[0];
    if (!isLang(primary)) continue;
    const qParam = rest.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { lang: primary, q };
  }
  return best?.lang ?? "en";
}
