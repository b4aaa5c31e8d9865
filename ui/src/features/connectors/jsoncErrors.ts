import { parse, printParseErrorCode, type ParseError } from "jsonc-parser";

export type JsoncResult = { value: unknown; errors: { line: number; column: number; message: string }[] };

/** Parses a parameter block as users paste it (comments and trailing commas accepted); errors carry their line. */
export function parseJsonc(text: string): JsoncResult {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const lineOf = (offset: number) => {
    const before = text.slice(0, offset).split("\n");
    return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
  };
  // Only the first error: the parser's recovery reports every token after it again.
  const found = errors.slice(0, 1).map((e) => ({ ...lineOf(e.offset), message: describe(printParseErrorCode(e.error)) }));
  if (found.length === 0 && (typeof value !== "object" || value === null || Array.isArray(value))) {
    found.push({ line: 1, column: 1, message: "parameters must be one JSON object: { \"name\": value, … }" });
  }
  return { value, errors: found };
}

function describe(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: "unexpected character",
    InvalidNumberFormat: "not a valid number",
    PropertyNameExpected: "a quoted parameter name is expected",
    ValueExpected: "a value is expected",
    ColonExpected: "a colon (:) is expected after the name",
    CommaExpected: "a comma is expected between entries",
    CloseBraceExpected: "a closing } is missing",
    CloseBracketExpected: "a closing ] is missing",
    EndOfFileExpected: "text after the end of the object",
    UnexpectedEndOfString: "a string is not closed",
    UnexpectedEndOfComment: "a /* comment is not closed",
    InvalidEscapeCharacter: "an invalid \\ escape in a string",
  };
  return words[code] ?? code;
}
