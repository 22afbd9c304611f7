// What an operator's Markdown may and may not put into a page.
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown.ts";

describe("renderMarkdown", () => {
  it("renders headings below the section, lists and emphasis", () => {
    const html = renderMarkdown("# 住まい\n\n- 市営住宅\n- **民間**の賃貸");
    expect(html).toContain("<h3>住まい</h3>");
    expect(html).toContain("<li><strong>民間</strong>の賃貸</li>");
  });

  it("shows raw HTML as text: no script, no event handler, no iframe", () => {
    const html = renderMarkdown('<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n<iframe src="/x">');
    expect(html).not.toMatch(/<script|<img|<iframe/);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("refuses javascript:, vbscript: and data: links and leaves them as text", () => {
    for (const href of [
      "javascript:alert(1)",
      "JAVASCRIPT:alert(1)",
      "vbscript:msgbox",
      "data:text/html;base64,PHNjcmlwdD4=",
    ]) {
      const html = renderMarkdown(`[click](${href})`);
      expect(html).not.toContain("<a");
    }
  });

  it("marks links external and opens them apart from Azusa", () => {
    const html = renderMarkdown("[市のサイト](https://city.example.jp/kosodate) と https://bus.example.jp");
    expect(html).toContain(
      '<a href="https://city.example.jp/kosodate" rel="external nofollow noopener noreferrer" target="_blank" class="external">市のサイト</a>',
    );
    expect(html).toContain('<a href="https://bus.example.jp" rel="external nofollow noopener noreferrer"');
  });

  it("loads no picture from elsewhere", () => {
    const html = renderMarkdown("![tracker](https://tracker.example/p.gif)");
    expect(html).not.toContain("<img");
  });

  it("escapes quotes in link addresses so an attribute cannot be closed", () => {
    const html = renderMarkdown('[x](https://a.example/"onmouseover="alert(1))');
    expect(html).not.toMatch(/"\s*onmouseover=/);
  });
});
