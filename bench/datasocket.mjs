/**
 * Bench worker: this library's Node DataSocket, from the built package
 * (../dist/index.js), values encoded and decoded in this process.
 */
import { DataSocket } from '../dist/index.js';
import { playRole } from './datasocket-roles.mjs';

playRole(DataSocket);
