// Submitting a page's forms the way a person gets them wrong, with the browser's own checks off, as a script or an
// old browser sends it: the form walks' shared parts.
import type { Page } from "playwright-core";

/** A form as found on a page: its place among the page's forms, where it goes, and what a person fills in. */
export interface FoundForm {
  index: number;
  method: string;
  action: string;
  fields: string[];
}

/** A form's identity across pages and rows: method, action with its ids taken out, and its fields. */
export const formKey = (f: FoundForm) =>
  `${f.method.toUpperCase()} ${f.action.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|\b[A-Za-z0-9_-]{16,}\b|\b\d{4}-\d{2}(-\d{2})?\b|\b\d+\b/g, ":id")} [${f.fields.join(",")}]`;

/** Which of a form's elements a person fills in (not hidden ones, not the CSRF token, not buttons), in the page. */
export const FILLABLE = `(e) => e.name && !["hidden", "submit", "button"].includes(e.type)`;

/** The forms of the page open now, with the fields a person fills in. */
export const formsOn = async (page: Page): Promise<FoundForm[]> =>
  (await page.evaluate(`(() => {
    const fillable = ${FILLABLE};
    return [...document.forms].map((f, index) => ({
      index,
      method: (f.getAttribute("method") || "get").toLowerCase(),
      action: f.getAttribute("action") || "",
      fields: [...f.elements].filter(fillable).map((e) => e.name).sort(),
    }));
  })()`)) as FoundForm[];

/** What a person gets wrong, by kind of field; anything else gets a control character. */
export const WRONG: Record<string, string> = {
  number: "十六",
  date: "2026-02-30",
  month: "2026-13",
  week: "2026-W60",
  time: "25:61",
  "datetime-local": "2026-02-30T25:61",
  email: "not-an-address",
  url: "not a url",
  password: "x",
};

/**
 * Fills form `index` of the page the way `how` says and submits it with its first button, the browser's own checks
 * off; confirmations are accepted. Resolves with the answer's status, or null when the form went nowhere.
 */
export async function submitWrong(page: Page, index: number, how: "missing" | "wrong"): Promise<number | null> {
  const navigated = page.waitForNavigation({ timeout: 20_000 }).catch(() => null);
  await page.evaluate(`(() => {
    const fillable = ${FILLABLE};
    const wrong = ${JSON.stringify(WRONG)};
    const missing = ${how === "missing"};
    const form = document.forms[${index}];
    form.noValidate = true;
    for (const el of [...form.elements].filter(fillable)) {
      if (el.type === "file") continue;
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = !missing;
      } else if (el.tagName === "SELECT") {
        const option = document.createElement("option");
        option.value = missing ? "" : "not-offered";
        option.textContent = option.value;
        el.multiple = false;
        el.append(option);
        el.value = option.value;
      } else {
        el.value = missing ? "" : (wrong[el.type] ?? "\\u0007");
      }
    }
    const button = form.querySelector('button:not([type]), button[type="submit"], input[type="submit"]');
    form.requestSubmit(button || undefined);
  })()`);
  const answer = await navigated;
  return answer ? answer.status() : null;
}
