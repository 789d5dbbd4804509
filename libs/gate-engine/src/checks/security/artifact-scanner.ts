/**
 * The artifact scanner, as the scan check loads it when it runs: by a
 * dynamic import of this module, since the build rewrites the path aliases of
 * static imports only. Loaded with the engine instead, the scanner and its
 * decompressors would lengthen every sandboxed gate's start-up, scanning or not.
 */
export { FINDING_SEVERITIES, scanArtifact, sortFindings } from '@gatehouse/artifact-scan';
