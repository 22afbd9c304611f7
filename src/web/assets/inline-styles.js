// Monaco writes style attributes into the markup it sets with innerHTML or insertAdjacentHTML, and with
// setAttribute("style"), all of which a policy without 'unsafe-inline' for styles refuses. Imported before
// it, this renames those attributes in the markup before it is parsed, then gives each element its style
// through the CSSOM (element.style), which the policy does not govern: the page keeps style-src 'self'.
// Markup from Monaco escapes "<" in text, so a "<" always opens a tag and a style= after it is an attribute.
const attribute = /(<[a-zA-Z][^<>]*?\s)style=/g;
const marker = "data-azusa-style";

/** Moves the marked attributes of `root`'s new elements into their style. */
function applyStyles(root) {
  for (const el of root.querySelectorAll(`[${marker}]`)) {
    el.style.cssText = el.getAttribute(marker);
    el.removeAttribute(marker);
  }
}

const inner = Object.getOwnPropertyDescriptor(Element.prototype, "innerHTML");
Object.defineProperty(Element.prototype, "innerHTML", {
  ...inner,
  set(html) {
    const text = String(html);
    if (!text.includes("style=")) return inner.set.call(this, html);
    inner.set.call(this, text.replace(attribute, `$1${marker}=`));
    applyStyles(this);
  },
});

const adjacent = Element.prototype.insertAdjacentHTML;
Element.prototype.insertAdjacentHTML = function insertAdjacentHTML(where, html) {
  const text = String(html);
  if (!text.includes("style=")) return adjacent.call(this, where, html);
  adjacent.call(this, where, text.replace(attribute, `$1${marker}=`));
  applyStyles(this.parentElement ?? this);
};

const setAttribute = Element.prototype.setAttribute;
Element.prototype.setAttribute = function (name, value) {
  if (String(name).toLowerCase() === "style") this.style.cssText = String(value);
  else setAttribute.call(this, name, value);
};
