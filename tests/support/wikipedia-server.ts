/** A MediaWiki-API look-alike on 127.0.0.1 serving a few fixed articles to WikipediaQueryRun. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface WikipediaTestServer {
  url: string;
  queries: string[];
  close(): Promise<void>;
}

export async function startWikipediaServer(articles: Record<string, string>): Promise<WikipediaTestServer> {
  const queries: string[] = [];
  const server: Server = createServer((req, res) => {
    const params = new URL(req.url ?? "/", "http://localhost").searchParams;
    let body: unknown;
    if (params.get("list") === "search") {
      const q = (params.get("srsearch") ?? "").toLowerCase();
      queries.push(q);
      const hits = Object.keys(articles).filter((title) =>
        q.split(/\s+/).some((w) => w && title.toLowerCase().includes(w)),
      );
      body = { query: { search: hits.map((title) => ({ title })) } };
    } else {
      const title = params.get("titles") ?? "";
      body = { query: { pages: { "1": { title, extract: articles[title] ?? "" } } } };
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/w/api.php`,
    queries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
