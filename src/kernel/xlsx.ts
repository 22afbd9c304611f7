import type ExcelJS from "exceljs";

/** A workbook of one sheet, `name`, laid out by `fill`, as xlsx bytes. ExcelJS is loaded only when one is asked for. */
export async function oneSheetXlsx(name: string, fill: (sheet: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const { default: Excel } = await import("exceljs");
  const book = new Excel.Workbook();
  fill(book.addWorksheet(name));
  return Buffer.from(await book.xlsx.writeBuffer());
}
