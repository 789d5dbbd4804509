import { describeSchemaInference } from './schema-inference.suite';

describeSchemaInference('embedded');
