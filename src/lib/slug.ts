/**
 * A URL slug: lower-case ASCII letters, digits and single hyphens, accents folded
 * ("Café Crème" → "cafe-creme"). May be empty when the input has no usable character.
 */
export function slugify(input: string, maxLength = 63): string {
  return input
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ß/g, 'ss')
    .replace(/[æÆ]/g, 'ae')
    .replace(/[øØ]/g, 'o')
    .replace(/[łŁ]/g, 'l')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '')
}
