import { task } from 'celeryts';
import { helper } from './h.js';
export const add = task((x: number, y: number) => helper(x) + y);
export const where = import.meta.url;
