/** Reading typed values out of environment variables and flags, collecting problems. */

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

/** A boolean setting; pushes a problem and returns undefined when the text is not one. */
export function parseBool(
  name: string,
  text: string | undefined,
  problems: string[],
): boolean | undefined {
  if (text === undefined || text === '') return undefined
  const t = text.trim().toLowerCase()
  if (TRUE.has(t)) return true
  if (FALSE.has(t)) return false
  problems.push(`${name}: expected true or false, got ${JSON.stringify(text)}`)
  return undefined
}
