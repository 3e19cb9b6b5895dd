/** `client.customers`: the merchant's customers. */

import type { Customer } from "../gen/paysim/v1/customer_pb.js";
import { CustomerService } from "../gen/paysim/v1/customer_pb.js";
import type { Pager } from "../pager.js";
import type { CallOptions } from "../transport.js";
import { Resource, type ReplyOf, type RequestOf } from "./base.js";
import { required } from "./payments.js";

const M = CustomerService.method;

export class Customers extends Resource {
  async create(request: RequestOf<typeof M.createCustomer>, options?: CallOptions): Promise<Customer> {
    return required((await this.call(M.createCustomer, request, options)).customer, "customer");
  }

  async get(customerId: string, options?: CallOptions): Promise<Customer> {
    return required((await this.call(M.getCustomer, { customerId }, options)).customer, "customer");
  }

  list(request: RequestOf<typeof M.listCustomers> = {}, options?: CallOptions): Pager<Customer> {
    return this.pager(M.listCustomers, request, (reply) => reply.customers, options);
  }

  async update(request: RequestOf<typeof M.updateCustomer>, options?: CallOptions): Promise<Customer> {
    return required((await this.call(M.updateCustomer, request, options)).customer, "customer");
  }

  delete(customerId: string, options?: CallOptions): Promise<ReplyOf<typeof M.deleteCustomer>> {
    return this.call(M.deleteCustomer, { customerId }, options);
  }
}
