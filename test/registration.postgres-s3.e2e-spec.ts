import { describeRegistration } from './registration.suite';

describeRegistration('postgres+s3');
