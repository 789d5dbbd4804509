import { describeSigning } from './signing.suite';

describeSigning('embedded');
