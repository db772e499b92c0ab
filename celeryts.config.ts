import { defineConfig, every } from 'celeryts';

// Task names derive from paths under root: tasks-example/proj/tasks.ts -> proj.tasks.<export>.
export default defineConfig({
  root: 'tasks-example',
  imports: ['proj.tasks'],
  // No brokerUrl: the embedded file broker in ./.celeryts. For RabbitMQ set
  // CELERYTS_BROKER_URL=amqp://guest:guest@localhost:5672// (or brokerUrl here).
  // Periodic tasks for `celeryts beat` (or `celeryts worker -B`).
  beatSchedule: {
    'add-every-10s': { task: 'proj.tasks.add', schedule: every('10s'), args: [2, 3] },
  },
});
