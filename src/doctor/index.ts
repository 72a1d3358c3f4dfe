/** `doctor`: the engine, the images and the kernel, checked together. */
export { runDoctor, kernelChecks, type Check, type CheckStatus, type DoctorReport } from './doctor.js';
