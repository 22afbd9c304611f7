// The web IDE's editor: Monaco (served by Azusa from its node_modules) over the page's plain textarea,
// which stays the form's field; without this script the textarea is the editor. The two modules first let
// Monaco's styles through the page's style-src 'self' (see each).
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
const area = document.getElementById("ide-content");
const host = document.getElementById("ide-editor");
const form = document.getElementById("ide-form");

if (area && host && form) {
  const loader = document.createElement("script");
  loader.src = "/assets/monaco/vs/loader.js";
  loader.addEventListener("load", () => {
    globalThis.require.config({ paths: { vs: "/assets/monaco/vs" } });
    globalThis.require(["vs/editor/editor.main"], () => {
      // Monaco's loader has set workers made from blob: URLs, which the policy refuses: its own worker
      // files instead, from their address on this site.
      const workers = JSON.parse(host.dataset.workers);
      globalThis.MonacoEnvironment = {
        getWorker: (_id, label) => new Worker(workers[workerKinds[label] ?? "editor"], { name: label }),
      };
      const editor = globalThis.monaco.editor.create(host, {
        value: area.value,
        language: area.dataset.language,
        automaticLayout: true,
        minimap: { enabled: false },
        ariaLabel: area.labels?.[0]?.textContent ?? "editor",
      });
      host.hidden = false;
      area.hidden = true;
      host.dataset.ready = "true";
      form.addEventListener("submit", () => {
        area.value = editor.getValue();
      });
      // Ctrl+S / Cmd+S saves, as in any editor.
      editor.addCommand(globalThis.monaco.KeyMod.CtrlCmd | globalThis.monaco.KeyCode.KeyS, () => form.requestSubmit());
    });
  });
  document.head.append(loader);
}
