// Evidence stored in English reads in the page's language, its variable parts kept; unknown forms stay as stored.
import { describe, expect, it } from "vitest";
import { translator } from "./i18n.ts";
import { activity, invitationStatus, sessionEnd, workspaceReason } from "./stored.ts";

const ja = translator("ja");

describe("stored evidence on a Japanese page", () => {
  it("says why a workspace is in its state", () => {
    expect(workspaceReason("ja", "provisioned for the assignment")).toBe("アサインに合わせて準備しました");
    expect(workspaceReason("ja", "stopped by engineer")).toBe("エンジニアが停止しました");
    expect(
      workspaceReason("ja", "idle for 75 minutes (limit 60); last activity: ssh shell at 2027-01-12T03:04:05.000Z"),
    ).toBe("75 分間操作がなかったため停止しました（上限 60 分）");
    expect(workspaceReason("ja", "provisioning failed: image not found")).toBe("準備に失敗しました: image not found");
    expect(workspaceReason("ja", "something new")).toBe("something new");
  });

  it("says what a workspace was last used for and how a session ended", () => {
    expect(activity(ja, "ssh shell")).toBe("SSHのシェル");
    expect(activity(ja, "browser exec")).toBe("ブラウザのコマンド実行");
    expect(activity(ja, "web IDE save")).toBe("Web IDE での保存");
    expect(sessionEnd(ja, "the browser closed the terminal")).toBe("ブラウザでターミナルを閉じました");
    expect(sessionEnd(ja, "exited")).toBe("終了");
    expect(invitationStatus(ja, "pending")).toBe("受諾待ち");
    expect(invitationStatus(translator("en"), "accepted")).toBe("accepted");
    expect(invitationStatus(ja, "constructor")).toBe("constructor");
    expect(activity(ja, "ssh toString")).toBe("ssh toString");
    expect(workspaceReason("ja", "started by toString")).toBe("toStringが起動しました");
  });
});
