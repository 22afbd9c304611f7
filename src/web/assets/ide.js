// The web IDE's editor: Monaco (served by Azusa from its node_modules) over the page's plain textarea,
// which stays the form's field; without this script the textarea is the editor.
const area = document.getElementById("ide-content");
const host = document.getElementById("ide-editor");
const form = document.getElementById("ide-form");

if (area && host && form) {
  // Monaco's workers would come from blob: URLs, which the page's policy refuses: none is started.
  globalThis.MonacoEnvironment = { getWorker: () => Promise.reject(new Error("no workers")) };
  const loader = document.createElement("script");
  loader.src = "/assets/monaco/vs/loader.js";
  loader.addEventListener("load", () => {
    globalThis.require.config({ paths: { vs: "/assets/monaco/vs" } });
    globalThis.require(["vs/editor/editor.main"], () => {
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
