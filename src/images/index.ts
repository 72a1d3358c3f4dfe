/** Images: the programs image (acklab/node) and the shaper image (acklab/shaper), built by content hash. */
export { ensureImages, buildImages, planImages, pruneImages, buildContexts, pullDisabled, resolveDebianBase, REPO_ROOT } from './images.js';
export {
  ensureTopologyImages,
  ensureBuiltImages,
  topologyBuilds,
  buildKey,
  buildImageTag,
  readBuildContext,
  parseDockerignore,
  isIgnored,
  dockerfileFroms,
  BASE_ARG,
  CONTEXT_LIMITS,
  type BuiltImage,
  type BuiltImages,
  type BuildContextOptions,
  type FromLine,
} from './contexts.js';
export type { EnsureImagesOptions, ImageResult, ImageTags, ImagePlan } from './images.js';
export {
  IMAGE_REPOS,
  IMAGE_ROLES,
  DEFAULT_BASES,
  BOOTSTRAP_BASE,
  BOOTSTRAP_KEYWORD,
  BOOTSTRAP_SUITE,
  BUILD_REPO_PREFIX,
  chooseBase,
  parseBaseImageOptions,
  imageTag,
  isImageRole,
} from './plan.js';
export type { ImageRole, BaseStep } from './plan.js';
export { contentHash, HASH_SCHEME, TAG_HASH_LENGTH, type ContextFile, type HashInputs } from './content-hash.js';
export { bootstrapDebianBase, bootstrapReadiness, type BootstrapReadiness, type BootstrapResult } from './bootstrap.js';
export {
  parseDeb822Sources,
  parseOneLineSources,
  chooseDebianMirror,
  renderDebianSources,
  readAptSources,
  findDebianMirror,
  type AptSource,
  type DebianMirror,
} from './apt-sources.js';
export { PROGRAMS, PREBUILT_BUNDLES, AGENT_ENTRY, bundlePrograms, bundleAgent, bundleEntry, programBundles, agentBundle, writePrebuiltBundles, type ProgramName, type ProgramBundle } from './bundle.js';
