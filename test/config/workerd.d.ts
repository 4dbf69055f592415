// The workerd package (installed with wrangler) says the newest compatibility date it supports.
declare module "workerd" {
	export const compatibilityDate: string;
	export const version: string;
}
