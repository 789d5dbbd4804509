import { describeSchemaInference } from './schema-inference.suite';

describeSchemaInference('postgres+s3');
