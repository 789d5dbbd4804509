import { describeSigning } from './signing.suite';

describeSigning('postgres+s3');
