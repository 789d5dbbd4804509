import { describeRescans } from './rescan.suite';

describeRescans('embedded');
