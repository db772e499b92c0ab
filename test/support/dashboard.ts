/** A dashboard for tests: its own app on the test broker (as `celeryts dashboard` runs), a free port. */
import { createApp, Dashboard, type App, type DashboardOptions } from 'celeryts';
import { E2E } from './harness.js';

/** A running dashboard and how to stop it. */
export interface TestDashboard {
  dashboard: Dashboard;
  app: App;
  url: string;
  close(): Promise<void>;
}

/** Start a dashboard on `brokerUrl` for the e2e fixture project. */
export async function startDashboard(brokerUrl: string, options: DashboardOptions = {}): Promise<TestDashboard> {
  const app = await createApp({ cwd: E2E, brokerUrl, logLevel: 'silent', setAsCurrent: false });
  const dashboard = new Dashboard(app, { port: 0, inspectIntervalMs: 60_000, ...options });
  try {
    const url = await dashboard.start();
    return {
      dashboard,
      app,
      url,
      async close() {
        await dashboard.close();
        await app.close();
      },
    };
  } catch (err) {
    await app.close();
    throw err;
  }
}
