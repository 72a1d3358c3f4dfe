/** Labs: a topology turned into running containers on Docker networks, and back. */
export { Lab, type StartOptions } from './lab.js';
export { StartedLab, type StartedNode, type StartedNetwork, type ImpairOptions, type PartitionOptions, type PartitionGroups, type NodeState } from './started-lab.js';
export { NODE_ACTIONS, NODE_ACTION_HELP, DEFAULT_STOP_GRACE_MS, runNodeAction, type NodeAction, type NodeActionOptions, type NodeTarget } from './node-actions.js';
export { copyRoot, unpackArchive, entryTarget } from './copy.js';
export { parseSince, toLogOptions, type NodeLogsOptions } from './log-options.js';
export { STANDARD_STEPS, linkConditionsStep, type StartStep } from './steps.js';
export { ReadinessError, waitReady, describeReadiness } from './readiness.js';
export { removeByLabels, settleAll, CLEANUP_TIMEOUT_MS, type RemovedResources } from './cleanup.js';
export { listNodes, findNode, removeLab, removeAllLabs, type RunningNode } from './catalog.js';
export { chooseSubnets, SUBNET_POOL } from './subnets.js';
export { containerName, networkName, nodeLabels, networkLabels, labSelector, KIND_LABEL, NETWORK_LABEL } from './naming.js';
