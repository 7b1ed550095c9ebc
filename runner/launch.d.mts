// The types of launch.mjs, plain JavaScript because it runs before tsx can.
export function buildIsCurrent(root: string): boolean;
