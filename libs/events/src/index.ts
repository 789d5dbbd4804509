export { EventsModule } from './events.module';
export { eventEntities } from './webhook.entities';
export { LIFECYCLE_EVENTS, LIFECYCLE_EVENT_FAMILIES, isLifecycleEvent } from './lifecycle-events';
