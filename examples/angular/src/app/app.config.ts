import { type ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';

// Angular 21 is zoneless by default: signals (and toSignal) drive change detection.
export const appConfig: ApplicationConfig = {
  providers: [provideBrowserGlobalErrorListeners()],
};
