export {
  type Delivery,
  DeliveryError,
  type IncidentEventRef,
  type IncidentOutput,
  isRetryable,
} from "./delivery.ts";
