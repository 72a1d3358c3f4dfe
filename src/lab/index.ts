/** Labs: a topology turned into running containers on Docker networks, and back. */
export { Lab, chooseVxlanId, type StartOptions } from './lab.js';
export { StartedLab, type StartedNode, type StartedNetwork, type ImpairOptions, type PartitionOptions, type PartitionGroups, type NodeState } from './started-lab.js';
export { NODE_ACTIONS, NODE_ACTION_HELP, DEFAULT_STOP_GRACE_MS, runNodeAction, type NodeAction, type NodeActionOptions, type NodeTarget } from './node-actions.js';
export { copyRoot, unpackArchive, entryTarget } from './copy.js';
export { parseSince, toLogOptions, type NodeLogsOptions } from './log-options.js';
export { STANDARD_STEPS, linkConditionsStep, type StartStep } from './steps.js';
export { ReadinessError, waitReady, describeReadiness } from './readiness.js';
export { removeByLabels, settleAll, CLEANUP_TIMEOUT_MS, type RemovedResources } from './cleanup.js';
export { listNodes, listLabs, removeLab, removeAllLabs, type RunningNode, type LabSummary, type OwnerScope } from './catalog.js';
export { chooseSubnets, SUBNET_POOL } from './subnets.js';
export {
  containerName,
  networkName,
  leaseName,
  detachedName,
  nodeLabels,
  networkLabels,
  labSelector,
  KIND_LABEL,
  NETWORK_LABEL,
  type RunLabels,
} from './naming.js';
export { currentOwner, currentHolder, encodeHolder, decodeHolder, holderState, describeHolder, OWNER_ENV, type Holder, type HolderState } from './holder.js';
export { claimLease, markDetached, readLease, LabBusyError, type LabLease } from './lease.js';
export { reapOrphans, type ReapedRun, type ReapOptions } from './reaper.js';
export { ensureWatchdog, isEngineAddress, WATCHDOG_ENV, WATCHDOG_LOG_ENV } from './watchdog.js';
export { processLabels } from './session.js';
export { runtimeForTopology, shipImages, primaryOf, engineAddresses, HOME_ENGINE } from './engines.js';
export { checkSwarm, formSwarm, releaseSwarms } from './swarm.js';
export { waitOverlaySettled, SETTLE_SCRIPT, OVERLAY_SETTLE_TIMEOUT_MS, type OverlaySettle, type OverlayPath } from './overlay.js';
export { labRuntime, type OpenEngine } from './lab-runtime.js';
