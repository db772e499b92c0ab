export const helper = (x: number): number => x * 10;
