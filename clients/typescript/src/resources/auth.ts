/** `client.auth`: accounts and the login session (the client keeps its tokens fresh itself). */

import type { User } from "../gen/paysim/v1/auth_pb.js";
import { AuthService } from "../gen/paysim/v1/auth_pb.js";
import type { CallOptions } from "../transport.js";
import { Resource, type ReplyOf, type RequestOf } from "./base.js";
import { required } from "./payments.js";

const M = AuthService.method;

export class Auth extends Resource {
  register(request: RequestOf<typeof M.register>, options?: CallOptions): Promise<ReplyOf<typeof M.register>> {
    return this.call(M.register, request, options);
  }

  async currentUser(options?: CallOptions): Promise<User> {
    return required((await this.call(M.getCurrentUser, {}, options)).user, "user");
  }

  changePassword(request: RequestOf<typeof M.changePassword>, options?: CallOptions): Promise<ReplyOf<typeof M.changePassword>> {
    return this.call(M.changePassword, request, options);
  }
}
