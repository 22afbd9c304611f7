// The web IDE's editor: Monaco (served by Azusa from its node_modules) over the page's plain textarea,
// which stays the form's field; without this script the textarea is the editor and every link and form
// loads a page. With it, opening a folder or a file, searching, saving and making a file fetch the same
// page and swap its #ide-view in place (the address kept in the history), so the terminal below, and its
// session, stay. The two modules first let Monaco's styles through the page's style-src 'self' (see each).
import "/assets/inline-styles.js";
import "/assets/constructed-styles.js";

/** Monaco's worker kind for a language, as its own loader picks them. */
const workerKinds = {
  json: "json",
  css: "css",
  scss: "css",
  less: "css",
  html: "html",
  handlebars: "html",
  razor: "html",
  typescript: "ts",
  javascript: "ts",
};

/** Monaco, loaded once for the page. */
let monaco;
function loadMonaco(workers) {
  monaco ??= new Promise((resolve, reject) => {
    const loader = document.createElement("script");
    loader.src = "/assets/monaco/vs/loader.js";
    loader.addEventListener("error", reject);
    loader.addEventListener("load", () => {
      globalThis.require.config({ paths: { vs: "/assets/monaco/vs" } });
      globalThis.require(["vs/editor/editor.main"], () => {
        // Monaco's loader has set workers made from blob: URLs, which the policy refuses: its own worker
        // files instead, from their address on this site.
        globalThis.MonacoEnvironment = {
          getWorker: (_id, label) => new Worker(workers[workerKinds[label] ?? "editor"], { name: label }),
        };
        resolve(globalThis.monaco);
      });
    });
    document.head.append(loader);
  });
  return monaco;
}

/** The editor over the view's textarea, when a file is open, and the text last opened or saved in it. */
let editor;
let savedText;

/** Whether the editor holds changes not saved that the person, asked, wants to keep. */
function keepUnsaved() {
  if (!editor || editor.getValue() === savedText) return false;
  return !confirm(document.getElementById("ide-view").dataset.unsaved);
}
async function mountEditor() {
  const area = document.getElementById("ide-content");
  const host = document.getElementById("ide-editor");
  const form = document.getElementById("ide-form");
  if (!area || !host || !form) return;
  const m = await loadMonaco(JSON.parse(host.dataset.workers));
  if (!host.isConnected) return; // another file was opened meanwhile
  editor = m.editor.create(host, {
    value: area.value,
    language: area.dataset.language,
    automaticLayout: true,
    minimap: { enabled: false },
    ariaLabel: area.labels?.[0]?.textContent ?? "editor",
  });
  host.hidden = false;
  area.hidden = true;
  savedText = area.value;
  host.dataset.ready = "true";
  // Ctrl+S / Cmd+S saves, as in any editor.
  editor.addCommand(m.KeyMod.CtrlCmd | m.KeyCode.KeyS, () => form.requestSubmit());
}

function unmountEditor() {
  editor?.getModel()?.dispose();
  editor?.dispose();
  editor = undefined;
}

const idePath = location.pathname.replace(/\/save$/, "");

/**
 * Fetches the IDE page at `url` (or the answer to a form sent there) and shows its view in place of this
 * one, the address in the history. Anything but an IDE page (signed out, gone) is loaded as a page.
 */
async function show(url, init = {}, { push = true } = {}) {
  let res;
  let next;
  try {
    res = await fetch(url, { ...init, credentials: "same-origin" });
    next = new DOMParser().parseFromString(await res.text(), "text/html").getElementById("ide-view");
  } catch {
    location.assign(url);
    return;
  }
  const target = new URL(res.url);
  if (!next || target.origin !== location.origin) {
    location.assign(res.redirected || !init.method ? res.url : location.href);
    return;
  }
  const view = document.getElementById("ide-view");
  if (init.method && !res.redirected) {
    // A form refused: its reasons replace the view's notices, and the view, with the editor's text not
    // yet saved, stays as it was.
    for (const notice of view.querySelectorAll(":scope > .notice")) notice.remove();
    view.prepend(...[...next.querySelectorAll(":scope > .notice")].map((n) => document.adoptNode(n)));
    return;
  }
  unmountEditor();
  view.replaceWith(document.adoptNode(next));
  const address = target.pathname + target.search;
  if (push && new URL(address, location.href).href !== location.href) history.pushState(null, "", address);
  else history.replaceState(null, "", address);
  shown = location.href;
  const reconnect = document.getElementById("terminal-reconnect");
  if (reconnect) reconnect.href = location.href;
  await mountEditor();
}

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("#ide-view a[href]") : null;
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href);
  if (url.origin !== location.origin || url.pathname !== idePath) return;
  event.preventDefault();
  if (!keepUnsaved()) show(url.href);
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.closest("#ide-view") || event.defaultPrevented) return;
  event.preventDefault();
  if (form.id === "ide-form" && editor) document.getElementById("ide-content").value = editor.getValue();
  else if (keepUnsaved()) return;
  const data = new URLSearchParams(new FormData(form));
  if (form.method.toLowerCase() === "get") {
    const url = new URL(form.action);
    url.search = data.toString();
    show(url.href);
  } else {
    show(form.action, { method: "POST", body: data });
  }
});

/** The address of the view shown, to go back to when the person keeps changes not saved. */
let shown = location.href;
addEventListener("popstate", () => {
  if (keepUnsaved()) history.pushState(null, "", shown);
  else show(location.href, {}, { push: false });
});
// Leaving the page (or reloading it) with changes not saved asks the browser's own question.
addEventListener("beforeunload", (event) => {
  if (editor && editor.getValue() !== savedText) event.preventDefault();
});

mountEditor();
