import { describeRegistration } from './registration.suite';

describeRegistration('embedded');
