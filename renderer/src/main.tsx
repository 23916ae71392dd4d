import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApi } from './api';
import { App } from './App';
import { ApiContext, EventStore } from './state';
import './styles.css';

const api = createApi();
const store = new EventStore(api);
store.start();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApiContext.Provider value={{ api, store }}>
      <App />
    </ApiContext.Provider>
  </StrictMode>,
);
