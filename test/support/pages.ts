// Reading Azusa's pages over plain HTTP, as a browser would fetch them, without following redirects.
import type { Client } from "./harness.ts";

/** A page as fetched: its status, where it redirects, and its HTML. */
export interface FetchedPage {
  status: number;
  location: string | null;
  html: string;
}

/** GETs a page with the client's cookies (and any extra headers); redirects are returned, not followed. */
export async function getPage(
  client: Client,
  path: string,
  headers: Record<string, string> = {},
): Promise<FetchedPage> {
  const res = await fetch(`${client.base}${path}`, {
    redirect: "manual",
    headers: { ...(client.cookie ? { cookie: client.cookie } : {}), ...headers },
  });
  return { status: res.status, location: res.headers.get("location"), html: await res.text() };
}

/** POSTs a form the way a browser does: urlencoded, from the site's own origin unless `origin` says otherwise. */
export async function postForm(
  client: Client,
  path: string,
  fields: Record<string, string>,
  { origin = new URL(client.base).origin }: { origin?: string } = {},
): Promise<FetchedPage> {
  const res = await fetch(`${client.base}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin,
      ...(client.cookie ? { cookie: client.cookie } : {}),
    },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, location: res.headers.get("location"), html: await res.text() };
}

/** The form token a page carries in its forms. */
export function csrfTokenIn(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error("the page has no form token");
  return m[1];
}
