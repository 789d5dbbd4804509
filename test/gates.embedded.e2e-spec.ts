import { describeGates } from './gates.suite';

describeGates('embedded');
