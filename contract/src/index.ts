export * from './schemas.js';
export * from './contract.js';
export * from './route-docs.js';
export * from './topics.js';
export * from './operations.js';
export * from './topic-control.js';
export * from './schedules.js';
export * from './workers.js';
