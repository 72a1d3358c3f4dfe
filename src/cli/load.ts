/**
 * The layers below the CLI that verbs use, loaded when a verb's action runs rather than when
 * `acklab` starts: `--help`, `--version`, completion and a verb's own argument checks need none of
 * them, and each verb loads only what it uses (the Docker client, the charts of the report, …).
 * Type imports stay static (they cost nothing at run time).
 */
export const loadRuntime = () => import('../runtime/index.js');
/** The lab's containers by label (list, find, remove): the part of src/lab most verbs need. */
export const loadLabCatalog = () => import('../lab/catalog.js');
/** Removes the labs of acklab processes that died before detaching them (every engine verb, first). */
export const loadReaper = () => import('../lab/reaper.js');
/** The engines a lab was spread over, found from its lease (every engine verb, first). */
export const loadLabRuntime = () => import('../lab/lab-runtime.js');
export const loadLab = () => import('../lab/index.js');
export const loadImpair = () => import('../impair/index.js');
export const loadImages = () => import('../images/index.js');
export const loadTopology = () => import('../topology/index.js');
export const loadExperiment = () => import('../experiment/index.js');
export const loadResults = () => import('../results/index.js');
export const loadReport = () => import('../report/index.js');
export const loadDoctor = () => import('../doctor/index.js');
