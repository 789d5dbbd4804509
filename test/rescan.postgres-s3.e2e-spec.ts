import { describeRescans } from './rescan.suite';

describeRescans('postgres+s3');
