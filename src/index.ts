// The Worker: HTTP routing only. Origin and per-IP checks happen here, before
// any Durable Object is woken; everything stateful lives in the objects.
import { type IRequest, Router } from "itty-router";
import { APP_FILES } from "../dist/app-files";
import { chatRoomStub, matchmakerStub, presenceStub } from "./app/contract";
import { isChatId } from "./domain/auth/signing";
import { addressKey } from "./domain/limits/address";
import type { Env } from "./env";
import { log } from "./log";
import { CLOSE_BAD_TICKET } from "./protocol/close-codes";
import { serveAppFile } from "./server/app-files";
import { originAllowed, parseAllowList } from "./server/origin";
import {
	forbiddenOrigin,
	forMethod,
	notFound,
	refuseUnlessRead,
	tooManyUpgrades,
	upgradeRequired,
} from "./server/responses";
import { singleSocket } from "./server/single-bridge";
import { cachedStats } from "./server/stats";
import { refuseSocket } from "./transport/sockets";

export { ChatRoom } from "./app/chat/chat-room";
export { Matchmaker } from "./app/matchmaker/matchmaker";
export { Presence } from "./app/presence/presence";

type Args = [Env, ExecutionContext];

/** The checks every `/ws` path passes before its object sees the request. */
async function guardUpgrade(request: IRequest, env: Env): Promise<Response | undefined> {
	if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return upgradeRequired();
	const origin = request.headers.get("Origin");
	const url = new URL(request.url);
	if (!originAllowed(origin, url, parseAllowList(env.ALLOWED_ORIGINS))) {
		log({ event: "upgrade_refused", reason: "origin", path: url.pathname });
		return forbiddenOrigin(origin ?? "");
	}
	// Cloudflare's edge (and wrangler dev) always set the address; a request
	// without one did not come from a client and has no address to limit.
	const address = addressKey(request.headers.get("CF-Connecting-IP"));
	if (env.PER_IP_LIMITS !== "off" && env.UPGRADE_LIMITER && address !== null) {
		const { success } = await env.UPGRADE_LIMITER.limit({ key: address });
		if (!success) {
			log({ event: "upgrade_refused", reason: "rate_limit", path: url.pathname });
			return tooManyUpgrades(60);
		}
	}
	return undefined;
}

type Handler = (request: IRequest, ...args: Args) => Response | Promise<Response>;

/**
 * A read-only API answer: GET, HEAD (the same status and headers without a
 * body, which is how uptime monitors probe), and 405 for any other method.
 */
function readOnly(answer: Handler): Handler {
	return async (request, ...args) => refuseUnlessRead(request) ?? forMethod(request, await answer(request, ...args));
}

const router = Router<IRequest, Args>()
	.all(
		"/api/health",
		readOnly(() => Response.json({ ok: true })),
	)
	.all(
		"/api/stats",
		readOnly((_request, env) => cachedStats(() => presenceStub(env).read())),
	)
	.all("/ws", guardUpgrade, (request, env) => matchmakerStub(env).fetch(request))
	// One socket for everything (PROTOCOL.md): the Worker carries it and bridges it to the objects.
	.all("/ws/single", guardUpgrade, (request, env) =>
		singleSocket(request, { lobby: () => matchmakerStub(env), chat: (chatId) => chatRoomStub(env, chatId) }),
	)
	.all("/ws/chat/:chat_id", guardUpgrade, (request, env) => {
		const chatId = request.params.chat_id ?? "";
		// No object is created for an id no ticket can name.
		if (!isChatId(chatId)) return refuseSocket({ code: CLOSE_BAD_TICKET, reason: "no such chat" });
		return chatRoomStub(env, chatId).fetch(request);
	})
	.all("/ws/*", guardUpgrade, () => notFound())
	.all("*", (request) => serveAppFile(APP_FILES, request));

export default {
	fetch: (request, env, ctx) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
