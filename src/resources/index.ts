import type { ResourceDefinition } from './define-resource.js';

/** Every resource and resource template. */
export const ALL_RESOURCES: readonly ResourceDefinition[] = [];
