/** Public library surface of acklab-mcast: the order checker, the delivered-file format, the ordering rules. */
export { checkOrder, checkOrderFiles, type CheckOrderOptions, type CheckOrderResult, type DeliveredSequence } from './check-order.js';
export { formatDeliveredRecord, parseDelivered, readDeliveredFile, DeliveredFileError, type DeliveredRecord } from './delivered.js';
export { LamportClock, TotalOrderQueue, compareMessages, type McastMessage, type PendingMessage } from './total-order.js';
export { decode, encode, type WireMessage } from './protocol.js';
export { EXIT_INCOMPLETE, type McastSummary } from './peer.js';
