import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dirs';

// Every test file leaves the temp folder as it found it (CDK apps' output folders included).
afterAll(removeTempDirs);
