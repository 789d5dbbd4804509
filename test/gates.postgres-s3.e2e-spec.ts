import { describeGates } from './gates.suite';

describeGates('postgres+s3');
