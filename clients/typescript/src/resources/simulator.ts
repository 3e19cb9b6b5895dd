/** `client.simulator`: scenarios, gateway outages, scripted outcomes, seeded chaos profiles, circuit breakers and the reset of a merchant's simulation. */

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

  setChaosProfile(request: RequestOf<typeof M.setChaosProfile>, options?: CallOptions): Promise<ReplyOf<typeof M.setChaosProfile>> {
    return this.call(M.setChaosProfile, request, options);
  }

  getChaosProfile(request: RequestOf<typeof M.getChaosProfile>, options?: CallOptions): Promise<ReplyOf<typeof M.getChaosProfile>> {
    return this.call(M.getChaosProfile, request, options);
  }

  listChaosProfiles(request: RequestOf<typeof M.listChaosProfiles> = {}, options?: CallOptions): Promise<ReplyOf<typeof M.listChaosProfiles>> {
    return this.call(M.listChaosProfiles, request, options);
  }

  clearChaosProfile(request: RequestOf<typeof M.clearChaosProfile> = {}, options?: CallOptions): Promise<ReplyOf<typeof M.clearChaosProfile>> {
    return this.call(M.clearChaosProfile, request, options);
  }

  resetSimulation(request: RequestOf<typeof M.resetSimulation> = {}, options?: CallOptions): Promise<ReplyOf<typeof M.resetSimulation>> {
    return this.call(M.resetSimulation, request, options);
  }
}
