/**
 * Why a member name from a zip or tar is unsafe to extract, or null if it is
 * safe: extractors on every platform must keep it inside the directory they
 * extract to, and loaders such as torch.load (tar) and numpy.load (zip) extract
 * or open members by these names.
 */
export function unsafeArchivePath(name: string): string | null {
  if (name.includes('\0')) return 'contains a NUL byte';
  if (name.startsWith('/') || name.startsWith('\\')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  // Windows extractors treat `\` as a separator, so both split segments.
  const segments = name.split(/[\\/]/);
  if (segments.includes('..')) return "has a '..' segment";
  // Windows drops a segment's trailing dots and spaces, so `.. `, `. .` and `....` all become `..` or `.` there.
  const windowsDots = segments.find((segment) => segment !== '.' && /^[. ]+$/.test(segment));
  if (windowsDots !== undefined) return `has a segment '${windowsDots}' of only dots and spaces, which Windows reads as '..' or '.'`;
  return null;
}
