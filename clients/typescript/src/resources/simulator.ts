/** `client.simulator`: scenarios, gateway outages, scripted outcomes and circuit breakers. */

import { SimulatorService } from "../gen/paysim/v1/simulator_pb.js";
import type { CallOptions } from "../transport.js";
import { Resource, type ReplyOf, type RequestOf } from "./base.js";

const M = SimulatorService.method;

export class Simulator extends Resource {
  listScenarios(options?: CallOptions): Promise<ReplyOf<typeof M.listScenarios>> {
    return this.call(M.listScenarios, {}, options);
  }

  setGatewayOutage(request: RequestOf<typeof M.setGatewayOutage>, options?: CallOptions): Promise<ReplyOf<typeof M.setGatewayOutage>> {
    return this.call(M.setGatewayOutage, request, options);
  }

  scriptGatewayOutcomes(request: RequestOf<typeof M.scriptGatewayOutcomes>, options?: CallOptions): Promise<ReplyOf<typeof M.scriptGatewayOutcomes>> {
    return this.call(M.scriptGatewayOutcomes, request, options);
  }

  clearGatewayFaults(request: RequestOf<typeof M.clearGatewayFaults>, options?: CallOptions): Promise<ReplyOf<typeof M.clearGatewayFaults>> {
    return this.call(M.clearGatewayFaults, request, options);
  }

  listGatewayFaults(request: RequestOf<typeof M.listGatewayFaults> = {}, options?: CallOptions): Promise<ReplyOf<typeof M.listGatewayFaults>> {
    return this.call(M.listGatewayFaults, request, options);
  }

  listCircuitBreakers(request: RequestOf<typeof M.listCircuitBreakers> = {}, options?: CallOptions): Promise<ReplyOf<typeof M.listCircuitBreakers>> {
    return this.call(M.listCircuitBreakers, request, options);
  }

  resetCircuitBreaker(request: RequestOf<typeof M.resetCircuitBreaker>, options?: CallOptions): Promise<ReplyOf<typeof M.resetCircuitBreaker>> {
    return this.call(M.resetCircuitBreaker, request, options);
  }
}
