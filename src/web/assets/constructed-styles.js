// xterm.js (and Monaco) write their themes and cell sizes into <style> elements made by script, which a
// Content-Security-Policy without 'unsafe-inline' refuses. Imported before them, this makes every such
// element an <azusa-style> whose text goes into a constructed style sheet (document.adoptedStyleSheets),
// which the policy does not govern: the pages keep style-src 'self' and show no violation.
class ConstructedStyle extends HTMLElement {
  #sheet = new CSSStyleSheet();
  #text = "";
  connectedCallback() {
    if (!document.adoptedStyleSheets.includes(this.#sheet)) {
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, this.#sheet];
    }
  }
  disconnectedCallback() {
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== this.#sheet);
  }
  get sheet() {
    return this.#sheet;
  }
  get textContent() {
    return this.#text;
  }
  set textContent(text) {
    this.#text = String(text ?? "");
    this.#sheet.replaceSync(this.#text);
  }
  get innerHTML() {
    return this.#text;
  }
  set innerHTML(text) {
    this.textContent = text;
  }
  appendChild(node) {
    // Monaco appends a text node to an empty style element.
    if (node && node.nodeType === Node.TEXT_NODE) {
      this.textContent = this.#text + node.data;
      return node;
    }
    return super.appendChild(node);
  }
}

if (!customElements.get("azusa-style")) {
  customElements.define("azusa-style", ConstructedStyle);
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function createElement(name, options) {
    return String(name).toLowerCase() === "style" ? create.call(this, "azusa-style") : create.call(this, name, options);
  };
}
