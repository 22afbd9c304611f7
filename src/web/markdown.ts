// Markdown that operators write (the offices' life guides) made into HTML that is safe to put in a page.
// markdown-it with `html: false` escapes every tag written in the text, so no script, style, iframe or event
// handler gets through, and its link check refuses javascript:, vbscript:, file: and data: addresses; there is
// no HTML to sanitise afterwards because none is let in. Links leave Azusa marked as such.
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
// Pictures would load from anywhere the author names; the guide is text and links.
md.disable("image");

// Links: marked external, opened apart from Azusa, telling the other site nothing about where the reader came from.
md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  const token = tokens[idx];
  if (token) {
    token.attrSet("rel", "external nofollow noopener noreferrer");
    token.attrSet("target", "_blank");
    token.attrSet("class", "external");
  }
  return self.renderToken(tokens, idx, options);
};

// Headings sit under the page's own h1 and the section's h2.
const shiftHeading = (tokens: { tag: string }[], idx: number) => {
  const token = tokens[idx];
  if (token) token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + 2)}`;
};
md.core.ruler.push("shift_headings", (state) => {
  state.tokens.forEach((t, i) => {
    if (t.type === "heading_open" || t.type === "heading_close") shiftHeading(state.tokens, i);
  });
});

/** Markdown as HTML with no markup of the author's own: raw HTML shows as text, unsafe links stay text. */
export function renderMarkdown(source: string): string {
  return md.render(source);
}
