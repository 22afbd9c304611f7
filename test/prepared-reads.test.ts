// A hot read compiled once (Db.preparedFirst): it answers what is committed, on SQLite from a connection of its own.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../src/db/db.ts";
import { createTestDatabase, dialects, type TestDatabase } from "./support/databases.ts";

describe.each(dialects)("prepared reads on %s", (dialect) => {
  let test: TestDatabase;
  let db: Db;

  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    db = openDatabase(test.database);
    await db.kysely.schema
      .createTable("station")
      .addColumn("id", "text", (col) => col.primaryKey())
      .addColumn("name", "text", (col) => col.notNull())
      .addColumn("line", "text", (col) => col.notNull())
      .execute();
    await db.kysely
      .insertInto("station" as never)
      .values([
        { id: "mat", name: "Matsumoto", line: "chuo" },
        { id: "shj", name: "Shinjuku", line: "chuo" },
      ] as never)
      .execute();
  });
  afterEach(async () => {
    await db?.close();
    await test?.drop();
  });

  const byId = () =>
    db.preparedFirst((id) =>
      db.kysely
        .selectFrom("station" as never)
        .select(["id", "name"] as never[])
        .where("id" as never, "=", id as never)
        .where("line" as never, "=", "chuo" as never),
    ) as (id: string) => Promise<{ id: string; name: string } | undefined> | { id: string; name: string } | undefined;

  it("returns the first row for the argument, and nothing for an unknown one", async () => {
    const read = byId();
    expect(await read("mat")).toEqual({ id: "mat", name: "Matsumoto" });
    expect(await read("shj")).toEqual({ id: "shj", name: "Shinjuku" });
    expect(await read("kof")).toBeUndefined();
    const nameOf = db.preparedFirst((id) =>
      db.kysely
        .selectFrom("station" as never)
        .select(["name"] as never[])
        .where("id" as never, "=", id as never),
    );
    expect(await nameOf("shj")).toEqual({ name: "Shinjuku" });
    expect(await nameOf("kof")).toBeUndefined();
  });

  it("reads what is committed: not a transaction's writes until it commits", async () => {
    const read = byId();
    expect(await read("mat")).toEqual({ id: "mat", name: "Matsumoto" });
    let commit = () => {};
    const committed = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let written = () => {};
    const writtenYet = new Promise<void>((resolve) => {
      written = resolve;
    });
    const trx = db.kysely.transaction().execute(async (trx) => {
      await trx
        .updateTable("station" as never)
        .set({ name: "Matsumoto (Nagano)" } as never)
        .where("id" as never, "=", "mat" as never)
        .execute();
      await trx
        .insertInto("station" as never)
        .values({ id: "kof", name: "Kofu", line: "chuo" } as never)
        .execute();
      written();
      await committed;
    });
    await writtenYet;
    expect(await read("mat")).toEqual({ id: "mat", name: "Matsumoto" });
    expect(await read("kof")).toBeUndefined();
    commit();
    await trx;
    expect(await read("mat")).toEqual({ id: "mat", name: "Matsumoto (Nagano)" });
    expect(await read("kof")).toEqual({ id: "kof", name: "Kofu" });
  });

  it("refuses a query that does not use its argument", () => {
    expect(() =>
      db.preparedFirst(() =>
        db.kysely
          .selectFrom("station" as never)
          .select(["id"] as never[])
          .where("id" as never, "=", "mat" as never),
      ),
    ).toThrow("does not use its argument");
  });
});
